#!/usr/bin/python3
"""Writes quantc's malformed-input corpus: broken ONNX models, NPY and IDX files.

The files are committed under tests/corpus/files/ so the tests need no Python; rerun this script
(deterministic, byte-identical output) after changing it:  /usr/bin/python3 gen_corpus.py [DIR]
The table of expected exit codes and messages lives in tests/tools/test_corpus.c.
"""
import gzip
import os
import random
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "files")
F = TensorProto.FLOAT
I64 = TensorProto.INT64


def path(name):
    return os.path.join(OUT, name)


def save_bytes(name, data):
    d = os.path.dirname(path(name))
    os.makedirs(d, exist_ok=True)
    with open(path(name), "wb") as f:
        f.write(data)


def model(nodes, inputs, outputs, inits=(), opset=17, domains=(), name="g"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    m = helper.make_model(g, opset_imports=ops, producer_name="quantc-corpus")
    m.ir_version = 8
    return m


def save(name, m):
    save_bytes(name, m.SerializeToString())


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def weights(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def conv_model(x_shape=(1, 3, 8, 8), w_shape=(4, 3, 3, 3), y_shape=None, **attrs):
    attrs.setdefault("pads", [1, 1, 1, 1])
    w = numpy_helper.from_array(weights(w_shape), "W")
    node = helper.make_node("Conv", ["x", "W"], ["y"], name="conv0", **attrs)
    return model([node], [vi("x", list(x_shape))], [vi("y", y_shape)], [w])


def main():
    os.makedirs(OUT, exist_ok=True)
    base = conv_model(y_shape=[1, 4, 8, 8])
    save("valid_conv.onnx", base)
    good = base.SerializeToString()

    # --- protobuf-level damage
    save_bytes("truncated.onnx", good[: len(good) // 2])
    # ModelProto.graph (field 7) sent as a varint instead of a length-delimited message.
    save_bytes("wire_type.onnx", bytes([0x08, 0x08, 0x38, 0x05]))
    # A length prefix that runs past the end of the buffer.
    save_bytes("bad_length.onnx", bytes([0x08, 0x08, 0x3A, 0xFF, 0xFF, 0xFF, 0x7F, 0x0A]))
    save_bytes("garbage.onnx", random.Random(1234).randbytes(512))
    save_bytes("empty.onnx", b"")
    save("no_graph.onnx", helper.make_model(helper.make_graph([], "g", [], []),
                                            opset_imports=[helper.make_opsetid("", 17)]))

    # --- graph structure
    save("unknown_op.onnx", model([helper.make_node("FooBar", ["x"], ["y"], name="foo")],
                                  [vi("x", [2])], [vi("y", [2])]))
    save("unknown_domain.onnx",
         model([helper.make_node("Relu", ["x"], ["y"], name="r", domain="com.example")],
               [vi("x", [2])], [vi("y", [2])], domains=["com.example"]))
    save("missing_initializer.onnx",
         model([helper.make_node("Conv", ["x", "W"], ["y"], name="conv0")],
               [vi("x", [1, 3, 8, 8])], [vi("y", None)]))
    save("undefined_input.onnx",
         model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add0")],
               [vi("x", [2])], [vi("y", [2])]))
    save("undefined_output.onnx",
         model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [2])],
               [vi("z", [2])]))
    save("cycle.onnx",
         model([helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
                helper.make_node("Relu", ["a"], ["b"], name="n2")],
               [vi("x", [2])], [vi("b", [2])]))
    save("duplicate_output.onnx",
         model([helper.make_node("Relu", ["x"], ["y"], name="r1"),
                helper.make_node("Neg", ["x"], ["y"], name="r2")],
               [vi("x", [2])], [vi("y", [2])]))
    save("arity.onnx", model([helper.make_node("Relu", ["x", "x"], ["y"], name="r")],
                             [vi("x", [2])], [vi("y", [2])]))

    # --- shapes
    save("conv_channel_mismatch.onnx", conv_model(w_shape=(4, 5, 3, 3)))
    save("matmul_inner_mismatch.onnx",
         model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
               [vi("a", [2, 3]), vi("b", [4, 5])], [vi("y", None)]))
    save("add_broadcast.onnx",
         model([helper.make_node("Add", ["a", "b"], ["y"], name="add0")],
               [vi("a", [2, 3]), vi("b", [4])], [vi("y", None)]))
    save("reshape_impossible.onnx",
         model([helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")],
               [vi("x", [2, 3])], [vi("y", None)],
               [numpy_helper.from_array(np.array([4, 2], np.int64), "s")]))
    save("conv_kernel_too_big.onnx", conv_model(x_shape=(1, 3, 2, 2), w_shape=(4, 3, 5, 5),
                                                pads=[0, 0, 0, 0]))
    save("conv_zero_stride.onnx", conv_model(strides=[0, 0]))
    save("negative_pads.onnx", conv_model(pads=[-1, -1, -1, -1]))
    save("concat_axis.onnx",
         model([helper.make_node("Concat", ["a", "a"], ["y"], name="cat", axis=5)],
               [vi("a", [2, 3])], [vi("y", None)]))
    save("transpose_perm.onnx",
         model([helper.make_node("Transpose", ["a"], ["y"], name="tr", perm=[0, 0])],
               [vi("a", [2, 3])], [vi("y", None)]))

    # --- tensors and dims
    big = 1 << 40
    save("dim_2pow40_input.onnx",
         model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [big, big])],
               [vi("y", None)]))
    t = TensorProto(name="W", data_type=F, dims=[big])
    t.raw_data = b"\0" * 16
    save("dim_2pow40_init.onnx",
         model([helper.make_node("Relu", ["W"], ["y"], name="r")], [], [vi("y", None)], [t]))
    t = TensorProto(name="W", data_type=F, dims=[-3, 2])
    t.raw_data = b"\0" * 24
    save("negative_dim.onnx",
         model([helper.make_node("Relu", ["W"], ["y"], name="r")], [], [vi("y", None)], [t]))
    t = TensorProto(name="W", data_type=F, dims=[4, 3, 3, 3])
    t.raw_data = b"\0" * 10
    save("raw_data_mismatch.onnx",
         model([helper.make_node("Conv", ["x", "W"], ["y"], name="conv0")],
               [vi("x", [1, 3, 8, 8])], [vi("y", None)], [t]))
    t = TensorProto(name="W", data_type=F, dims=[4], float_data=[1.0, 2.0, 3.0])
    save("float_data_mismatch.onnx",
         model([helper.make_node("Relu", ["W"], ["y"], name="r")], [], [vi("y", None)], [t]))
    t = TensorProto(name="W", data_type=TensorProto.STRING, dims=[1], string_data=[b"hi"])
    save("string_tensor.onnx",
         model([helper.make_node("Identity", ["W"], ["y"], name="id")], [], [vi("y", None)],
               [t]))
    save("conv_zero_kernel.onnx", conv_model(w_shape=(4, 3, 0, 0), pads=[0, 0, 0, 0]))
    # Zero-size tensors are legal: this one must run and give an empty output.
    save("zero_size_ok.onnx",
         model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [0, 3])],
               [vi("y", [0, 3])]))

    # --- external data
    def ext(name, location, length=None):
        t = TensorProto(name="W", data_type=F, dims=[4, 3, 3, 3])
        t.data_location = TensorProto.EXTERNAL
        kv = [("location", location)]
        if length is not None:
            kv.append(("length", str(length)))
        for k, v in kv:
            e = t.external_data.add()
            e.key, e.value = k, v
        save(name, model([helper.make_node("Conv", ["x", "W"], ["y"], name="conv0")],
                         [vi("x", [1, 3, 8, 8])], [vi("y", None)], [t]))
    ext("extdata_dotdot.onnx", "../secret.bin")
    ext("extdata_absolute.onnx", "/etc/passwd")
    ext("extdata_missing.onnx", "no_such_weights.bin")
    save_bytes("short_weights.bin", b"\0" * 8)
    ext("extdata_short.onnx", "short_weights.bin")

    # --- opsets, attributes
    save("opset_old.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                 [vi("x", [2])], [vi("y", [2])], opset=1))
    save("opset_new.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                 [vi("x", [2])], [vi("y", [2])], opset=99))
    save("attr_wrong_kind.onnx", conv_model(group=1.5))
    save("missing_required_attr.onnx",
         model([helper.make_node("MaxPool", ["x"], ["y"], name="mp")],
               [vi("x", [1, 1, 4, 4])], [vi("y", None)]))
    save("huge_attr_list.onnx", conv_model(strides=[1] * 20000))
    save("cast_bad_type.onnx",
         model([helper.make_node("Cast", ["x"], ["y"], name="c", to=999)],
               [vi("x", [2])], [vi("y", None)]))

    # --- run-time failures (valid models, bad data)
    g = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), "D")
    save("gather.onnx", model([helper.make_node("Gather", ["D", "i"], ["y"], name="gather0")],
                              [vi("i", [2], I64)], [vi("y", [2, 2])], [g]))
    # Both Gather inputs constant: constant folding runs the kernel at load time and fails.
    save("fold_gather_oob.onnx",
         model([helper.make_node("Gather", ["D", "k"], ["g"], name="gather_const"),
                helper.make_node("Add", ["x", "g"], ["y"], name="add0")],
               [vi("x", [2, 2])], [vi("y", [2, 2])],
               [g, numpy_helper.from_array(np.array([0, 10], np.int64), "k")]))
    np.save(path("gather_idx_ok.npy"), np.array([2, 0], np.int64))
    np.save(path("gather_idx_oob.npy"), np.array([0, 10], np.int64))
    np.save(path("x_ok.npy"), weights((1, 3, 8, 8), 1))
    np.save(path("x_rank3.npy"), weights((3, 8, 8), 1))
    np.save(path("x_f64.npy"), weights((1, 3, 8, 8), 1).astype(np.float64))
    np.save(path("x_shape.npy"), weights((1, 3, 9, 8), 1))
    np.save(path("zero_x.npy"), np.zeros((0, 3), np.float32))

    # A valid classifier for the IDX cases: [N,1,28,28] -> Flatten -> Gemm -> [N,10].
    save("eval_ok.onnx",
         model([helper.make_node("Flatten", ["x"], ["f"], name="flat"),
                helper.make_node("Gemm", ["f", "Wf"], ["y"], name="fc", transB=1)],
               [vi("x", ["N", 1, 28, 28])], [vi("y", ["N", 10])],
               [numpy_helper.from_array(weights((10, 784), 2), "Wf")]))

    # --- NPY damage
    ok = open(path("x_ok.npy"), "rb").read()
    save_bytes("npy_bad_magic.npy", b"\x93NUMPX" + ok[6:])
    save_bytes("npy_truncated.npy", ok[:200])
    save_bytes("npy_header_too_long.npy", ok[:8] + struct.pack("<H", 60000) + ok[10:])
    save_bytes("npy_empty.npy", b"")
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    hdr += b" " * (117 - len(hdr)) + b"\n"
    save_bytes("npy_huge_shape.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr)
    np.save(path("npy_fortran.npy"), np.asfortranarray(weights((1, 3, 8, 8), 1)))
    np.save(path("npy_complex.npy"), np.ones((1, 3, 8, 8), np.complex64))
    save_bytes("npy_bad_header.npy",
               ok[:10] + ok[10:10 + 128 - 10].replace(b"'shape'", b"'shapo'") + ok[128:])

    # --- IDX damage: folders laid out like the Fashion-MNIST test set, 4 images
    imgs = np.random.default_rng(3).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    labs = np.array([0, 1, 2, 3], np.uint8)
    ihdr = struct.pack(">IIII", 0x803, 4, 28, 28)
    lhdr = struct.pack(">II", 0x801, 4)

    def idx_dir(name, images, labels):
        save_bytes(name + "/t10k-images-idx3-ubyte.gz", gzip.compress(images, mtime=0))
        save_bytes(name + "/t10k-labels-idx1-ubyte.gz", gzip.compress(labels, mtime=0))
    idx_dir("idx_bad_magic", struct.pack(">I", 0x12345678) + ihdr[4:] + imgs.tobytes(),
            lhdr + labs.tobytes())
    idx_dir("idx_truncated", (ihdr + imgs.tobytes())[:1000], lhdr + labs.tobytes())
    idx_dir("idx_count_mismatch", ihdr + imgs.tobytes(),
            struct.pack(">II", 0x801, 3) + labs[:3].tobytes())
    idx_dir("idx_bad_label", ihdr + imgs.tobytes(), lhdr + bytes([0, 1, 2, 77]))
    save_bytes("idx_not_gzip/t10k-images-idx3-ubyte.gz", b"\x1f\x8b\x08\x00" + bytes(60))
    save_bytes("idx_not_gzip/t10k-labels-idx1-ubyte.gz", gzip.compress(lhdr + labs.tobytes(),
                                                                       mtime=0))
    os.makedirs(path("idx_empty_dir"), exist_ok=True)
    save_bytes("idx_empty_dir/.keep", b"")


if __name__ == "__main__":
    main()
