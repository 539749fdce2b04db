#!/usr/bin/python3
"""Writes the small ONNX models test_onnx_import.c loads:  gen_onnx_models.py OUT_DIR
Built with onnx.helper, independently of quantc's importer; some are broken on purpose."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1]
F = TensorProto.FLOAT
I64 = TensorProto.INT64


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def model(nodes, inputs, outputs, inits=(), opset=17, value_info=(), domains=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits),
                          value_info=list(value_info))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    m = helper.make_model(g, opset_imports=ops, producer_name="quantc-test")
    m.ir_version = 8
    return m


def save(name, m):
    p = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(m.SerializeToString() if hasattr(m, "SerializeToString") else m)


def ident(opset=17, inits=()):
    """x -> Identity -> y, plus initializers."""
    return model([helper.make_node("Identity", ["x"], ["y"], name="id")],
                 [vi("x", [2])], [vi("y", [2])], inits, opset)


def typed_tensor(name, dtype, dims, field, vals):
    t = TensorProto()
    t.name, t.data_type = name, dtype
    t.dims.extend(dims)
    getattr(t, field).extend(vals)
    return t


def raw_tensor(name, dtype, dims, raw):
    t = TensorProto()
    t.name, t.data_type = name, dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def external(name, dims, location, offset=None, length=None):
    t = TensorProto()
    t.name, t.data_type = name, F
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def initializers():
    a = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5
    save("raw_typed.onnx", ident(inits=[
        numpy_helper.from_array(a, "f32_raw"),  # raw_data
        typed_tensor("f32_typed", F, [2, 3], "float_data", a.ravel().tolist()),
        typed_tensor("i64_typed", I64, [3], "int64_data", [-5, 0, 1 << 40]),
        typed_tensor("i8_typed", TensorProto.INT8, [3], "int32_data", [-128, 5, 127]),
        typed_tensor("u8_typed", TensorProto.UINT8, [2], "int32_data", [0, 255]),
        typed_tensor("f16_typed", TensorProto.FLOAT16, [2], "int32_data", [0x3c00, 0xc000]),
        typed_tensor("bool_typed", TensorProto.BOOL, [3], "int32_data", [1, 0, 1]),
        typed_tensor("f64_typed", TensorProto.DOUBLE, [2], "double_data", [0.25, -1e300]),
        typed_tensor("u64_typed", TensorProto.UINT64, [1], "uint64_data", [(1 << 64) - 1]),
        typed_tensor("i32_typed", TensorProto.INT32, [2], "int32_data", [-7, 1 << 30]),
        numpy_helper.from_array(np.array([-2, 300], np.int16), "i16_raw"),
        numpy_helper.from_array(np.array([1.5], np.float64), "f64_raw"),
        numpy_helper.from_array(np.zeros((0, 4), np.float32), "empty"),
    ]))
    save("raw_len.onnx", ident(inits=[raw_tensor("w", F, [2, 3], b"\0" * 20)]))
    save("neg_dim.onnx", ident(inits=[raw_tensor("w", F, [2, -3], b"")]))
    save("too_big.onnx", ident(inits=[raw_tensor("w", F, [1 << 20, 1 << 20], b"")]))
    save("typed_count.onnx", ident(inits=[typed_tensor("w", F, [4], "float_data", [1, 2, 3])]))
    save("string_init.onnx", ident(inits=[typed_tensor("s", TensorProto.STRING, [1],
                                                       "string_data", [b"hi"])]))
    save("complex_init.onnx", ident(inits=[typed_tensor("c", TensorProto.COMPLEX64, [1],
                                                        "float_data", [1, 2])]))


def external_data():
    data = (np.arange(6, dtype=np.float32) + 0.5).tobytes()
    d = os.path.join(OUT, "ext")
    os.makedirs(os.path.join(d, "sub"), exist_ok=True)
    with open(os.path.join(d, "weights.bin"), "wb") as f:
        f.write(b"\xff" * 4096 + data)
    with open(os.path.join(OUT, "outside.bin"), "wb") as f:
        f.write(data)
    link = os.path.join(d, "link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("../outside.bin", link)
    cases = {
        "ext.onnx": external("W", [2, 3], "weights.bin", 4096, 24),
        "ext_inner.onnx": external("W", [2, 3], "sub/../weights.bin", 4096),
        "ext_dotdot.onnx": external("W", [2, 3], "../outside.bin"),
        "ext_abs.onnx": external("W", [2, 3], os.path.join(OUT, "outside.bin")),
        "ext_link.onnx": external("W", [2, 3], "link.bin"),
        "ext_short.onnx": external("W", [2, 3], "weights.bin", 4100),
        "ext_missing.onnx": external("W", [2, 3], "nope.bin"),
        "ext_badlen.onnx": external("W", [2, 3], "weights.bin", 4096, 20),
    }
    for name, t in cases.items():
        save("ext/" + name, ident(inits=[t]))


def attributes():
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "W")
    cval = numpy_helper.from_array(np.array([[1, 2], [3, 4]], np.int32), "cv")
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv", auto_pad="SAME_UPPER",
                         group=1, kernel_shape=[3, 3], strides=[1, 1], dilations=[1, 1]),
        helper.make_node("LeakyRelu", ["c"], ["y"], name="lrelu", alpha=0.25),
        helper.make_node("Constant", [], ["k_t"], name="k_t", value=cval),
        helper.make_node("Constant", [], ["k_fs"], name="k_fs", value_floats=[1.5, -2.0]),
        helper.make_node("Constant", [], ["k_is"], name="k_is", value_ints=[7, 8, 9]),
        helper.make_node("Constant", [], ["k_f"], name="k_f", value_float=3.0),
        helper.make_node("Constant", [], ["k_i"], name="k_i", value_int=-4),
    ]
    save("attrs.onnx", model(nodes, [vi("x", [1, 3, 5, 5])],
                             [vi("y", None), vi("k_t", None), vi("k_fs", None),
                              vi("k_is", None), vi("k_f", None), vi("k_i", None)], [w]))
    # Each remaining kind, on an op whose schema lacks it: converted, then refused by name.
    sub = helper.make_graph([], "sub", [], [])
    kinds = {
        "strings": helper.make_attribute("foo", [b"a", b"b"]),
        "tensors": helper.make_attribute("foo", [cval, cval]),
        "graph": helper.make_attribute("foo", sub),
        "graphs": helper.make_attribute("foo", [sub, sub]),
    }
    for k, a in kinds.items():
        n = helper.make_node("Relu", ["x"], ["y"], name="r")
        n.attribute.append(a)
        save("attr_%s.onnx" % k, model([n], [vi("x", [2])], [vi("y", [2])]))
    sp = helper.make_sparse_tensor(numpy_helper.from_array(np.array([1.0], np.float32), "v"),
                                   numpy_helper.from_array(np.array([0], np.int64), "i"), [4])
    save("attr_sparse.onnx", model([helper.make_node("Constant", [], ["y"], name="k",
                                                     sparse_value=sp)], [], [vi("y", [4])]))
    save("attr_unknown.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="r", foo=1)],
                                    [vi("x", [2])], [vi("y", [2])]))
    save("attr_kind.onnx", model([helper.make_node("LeakyRelu", ["x"], ["y"], name="r",
                                                   alpha=1)], [vi("x", [2])], [vi("y", [2])]))
    save("attr_required.onnx", model([helper.make_node("MaxPool", ["x"], ["y"], name="p")],
                                     [vi("x", [1, 1, 4, 4])], [vi("y", None)]))
    save("const_string.onnx", model([helper.make_node("Constant", [], ["y"], name="k",
                                                      value_string="hi")], [], [vi("y", [])]))


def shapes():
    nodes = [helper.make_node("Relu", ["x"], ["h"], name="relu"),
             helper.make_node("Sigmoid", ["h"], ["y"], name="sig")]
    m = model(nodes, [vi("x", ["N", 3, None])], [vi("y", ["N", 3, 7])],
              value_info=[vi("h", ["N", "C", 7])])
    save("shapes.onnx", m)
    # Graph input that is also an initializer: not an input of the IR graph.
    m = model([helper.make_node("Add", ["x", "b"], ["y"], name="add")],
              [vi("x", [2]), vi("b", [2])], [vi("y", [2])],
              [numpy_helper.from_array(np.array([1, 2], np.float32), "b")])
    save("init_input.onnx", m)
    # Nodes out of order: sorted on import.
    nodes = [helper.make_node("Sigmoid", ["h"], ["y"], name="second"),
             helper.make_node("Relu", ["x"], ["h"], name="first")]
    save("unsorted.onnx", model(nodes, [vi("x", [2])], [vi("y", [2])]))


def errors():
    save("unknown_op.onnx", model([helper.make_node("Foo", ["x"], ["y"], name="n1")],
                                  [vi("x", [2])], [vi("y", [2])]))
    save("custom_domain.onnx", model([helper.make_node("Relu", ["x"], ["y"], name="n1",
                                                       domain="com.example")],
                                     [vi("x", [2])], [vi("y", [2])], domains=["com.example"]))
    save("undefined_input.onnx", model([helper.make_node("Add", ["x", "z"], ["y"], name="add")],
                                       [vi("x", [2])], [vi("y", [2])]))
    nodes = [helper.make_node("Relu", ["b"], ["a"], name="ra"),
             helper.make_node("Relu", ["a"], ["b"], name="rb"),
             helper.make_node("Add", ["x", "a"], ["y"], name="add")]
    save("cycle.onnx", model(nodes, [vi("x", [2])], [vi("y", [2])]))
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r1"),
             helper.make_node("Sigmoid", ["x"], ["y"], name="r2")]
    save("twice.onnx", model(nodes, [vi("x", [2])], [vi("y", [2])]))
    save("arity.onnx", model([helper.make_node("Add", ["x"], ["y"], name="add")],
                             [vi("x", [2])], [vi("y", [2])]))
    save("opset18.onnx", ident(opset=18))
    save("no_output.onnx", model([helper.make_node("Relu", ["x"], ["h"], name="r")],
                                 [vi("x", [2])], [vi("y", [2])]))
    save("seq_input.onnx", model([helper.make_node("Identity", ["x"], ["y"])],
                                 [helper.make_tensor_sequence_value_info("x", F, [2])],
                                 [vi("y", [2])]))
    save("tile_opset5.onnx", model([helper.make_node("Tile", ["x", "t", "a"], ["y"], name="t")],
                                   [vi("x", [2]), vi("t", [], I64), vi("a", [], I64)],
                                   [vi("y", None)], opset=5))
    good = ident().SerializeToString()
    save("truncated.onnx", good[:len(good) - 7])


def legacy():
    # opset 6 broadcasting: B [3, 4] into A [2, 3, 4, 5] at axis 1 -> B gets one trailing dim.
    b = numpy_helper.from_array(np.ones((3, 4), np.float32), "B")
    save("bcast6.onnx", model([helper.make_node("Add", ["A", "B"], ["y"], name="add",
                                                broadcast=1, axis=1)],
                              [vi("A", [2, 3, 4, 5])], [vi("y", [2, 3, 4, 5])], [b], opset=6))
    # the same when A's rank is unknown: the shape is built at run time
    save("bcast6_dyn.onnx", model([helper.make_node("Add", ["A", "B"], ["y"], name="add",
                                                    broadcast=1, axis=1)],
                                  [helper.make_tensor_value_info("A", F, None)],
                                  [vi("y", None)], [b], opset=6))
    save("bcast6_suffix.onnx", model([helper.make_node("Mul", ["A", "B"], ["y"], name="mul",
                                                       broadcast=1)],
                                     [vi("A", [2, 3, 4])], [vi("y", [2, 3, 4])], [b], opset=6))
    s = numpy_helper.from_array(np.array([0.1, 0.2, 0.3], np.float32), "slope")
    save("prelu6.onnx", model([helper.make_node("PRelu", ["x", "slope"], ["y"], name="pr")],
                              [vi("x", [2, 3, 4, 5])], [vi("y", [2, 3, 4, 5])], [s], opset=6))
    nodes = [helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1),
             helper.make_node("LogSoftmax", ["x2"], ["y2"], name="lsm")]
    save("softmax11.onnx", model(nodes, [vi("x", [2, 3, 4]), vi("x2", [5, 6])],
                                 [vi("y", [2, 3, 4]), vi("y2", [5, 6])], opset=11))
    nodes = [helper.make_node("Clip", ["x"], ["c"], name="clip", min=-0.5, max=0.5),
             helper.make_node("Pad", ["c"], ["p"], name="pad", pads=[0, 1, 0, 2], value=1.5),
             helper.make_node("Slice", ["p"], ["s"], name="slice", starts=[0], ends=[2],
                              axes=[1]),
             helper.make_node("Unsqueeze", ["s"], ["u"], name="unsq", axes=[0]),
             helper.make_node("Squeeze", ["u"], ["q"], name="sq", axes=[0]),
             helper.make_node("Split", ["q"], ["s0", "s1"], name="split", axis=1, split=[1, 1]),
             helper.make_node("ReduceSum", ["s0"], ["r"], name="rsum", axes=[1], keepdims=0),
             helper.make_node("Dropout", ["r"], ["d"], name="drop", is_test=1, ratio=0.25),
             helper.make_node("Gemm", ["m", "W", "C"], ["g"], name="gemm", broadcast=1,
                              transB=1),
             helper.make_node("BatchNormalization", ["img", "sc", "bi", "me", "va"], ["bn"],
                              name="bn", is_test=1, spatial=1, epsilon=1e-3)]
    inits = [numpy_helper.from_array(np.ones((4, 3), np.float32), "W"),
             numpy_helper.from_array(np.ones((4,), np.float32), "C")] + [
        numpy_helper.from_array(np.ones((2,), np.float32), n) for n in ("sc", "bi", "me", "va")]
    save("legacy6.onnx", model(nodes, [vi("x", [3, 2]), vi("m", [5, 3]), vi("img", [1, 2, 3, 3])],
                               [vi("d", None), vi("s1", None), vi("g", None), vi("bn", None)],
                               inits, opset=6))
    # opset 1: string Cast target, Concat's default axis, Reshape's shape attribute, float p,
    # consumed_inputs, and is_test=0 (training) on BatchNormalization and Dropout.
    nodes = [helper.make_node("Cast", ["x"], ["c"], name="cast", to="DOUBLE"),
             helper.make_node("Concat", ["x", "x"], ["cat"], name="cat"),
             helper.make_node("Reshape", ["cat"], ["r"], name="reshape", shape=[4, 3]),
             helper.make_node("GlobalLpPool", ["img"], ["lp"], name="lp", p=2.0),
             helper.make_node("Relu", ["x"], ["relu"], name="relu", consumed_inputs=[0]),
             helper.make_node("BatchNormalization", ["img", "sc", "bi", "me", "va"],
                              ["bn", "rm", "rv"], name="bn", is_test=0, consumed_inputs=[0, 0]),
             helper.make_node("Dropout", ["x"], ["d"], name="drop", is_test=0, ratio=0.1)]
    save("legacy1.onnx", model(nodes, [vi("x", [3, 2]), vi("img", [1, 2, 3, 3])],
                               [vi("c", None), vi("r", None), vi("lp", None), vi("relu", None),
                                vi("bn", None), vi("rm", None), vi("d", None)],
                               inits[2:], opset=1))
    save("bn_spatial0.onnx", model(
        [helper.make_node("BatchNormalization", ["img", "sc", "bi", "me", "va"], ["bn"],
                          name="bn", is_test=1, spatial=0)],
        [vi("img", [1, 2, 3, 3])], [vi("bn", None)], inits[2:], opset=6))


def main():
    os.makedirs(OUT, exist_ok=True)
    initializers()
    external_data()
    attributes()
    shapes()
    errors()
    legacy()


main()
