#!/usr/bin/python3
"""Writes the fuzzer's valid seed models (tests/fuzz/seeds/) and its dictionary (onnx.dict).
Deterministic; rerun after changing it:  /usr/bin/python3 tests/fuzz/gen_seeds.py"""
import os
import re

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds")
F = TensorProto.FLOAT


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def w(name, shape, seed=0):
    return numpy_helper.from_array(
        np.random.default_rng(seed).standard_normal(shape).astype(np.float32), name)


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "seed", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(m.SerializeToString())


def main():
    os.makedirs(OUT, exist_ok=True)
    save("cnn.onnx",
         [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
          helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"]),
          helper.make_node("Relu", ["n"], ["r"]),
          helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
          helper.make_node("GlobalAveragePool", ["p"], ["g"]),
          helper.make_node("Flatten", ["g"], ["f"]),
          helper.make_node("Gemm", ["f", "Wf", "Bf"], ["y"], transB=1)],
         [vi("x", ["N", 1, 8, 8])], [vi("y", ["N", 3])],
         [w("W", (4, 1, 3, 3)), w("B", (4,)), w("s", (4,)), w("b", (4,)), w("m", (4,)),
          numpy_helper.from_array(np.ones(4, np.float32), "v"), w("Wf", (3, 4)),
          w("Bf", (3,))])
    save("tensor_ops.onnx",
         [helper.make_node("Reshape", ["x", "shape"], ["a"]),
          helper.make_node("Transpose", ["a"], ["t"], perm=[1, 0]),
          helper.make_node("Concat", ["t", "t"], ["c"], axis=0),
          helper.make_node("Slice", ["c", "st", "en"], ["s"]),
          helper.make_node("Gather", ["s", "idx"], ["gth"], axis=1),
          helper.make_node("Unsqueeze", ["gth", "ax"], ["u"]),
          helper.make_node("ReduceMean", ["u"], ["y"], axes=[0], keepdims=0)],
         [vi("x", [2, 3])], [vi("y", [3, 2])],
         [numpy_helper.from_array(np.array([3, 2], np.int64), "shape"),
          numpy_helper.from_array(np.array([0], np.int64), "st"),
          numpy_helper.from_array(np.array([3], np.int64), "en"),
          numpy_helper.from_array(np.array([1, 0], np.int64), "idx"),
          numpy_helper.from_array(np.array([0], np.int64), "ax")])
    save("qdq.onnx",
         [helper.make_node("QuantizeLinear", ["x", "sc", "zp"], ["q"]),
          helper.make_node("DequantizeLinear", ["q", "sc", "zp"], ["d"]),
          helper.make_node("MatMul", ["d", "Wm"], ["y"])],
         [vi("x", [2, 4])], [vi("y", [2, 2])],
         [numpy_helper.from_array(np.array(0.1, np.float32), "sc"),
          numpy_helper.from_array(np.array(3, np.int8), "zp"), w("Wm", (4, 2))])
    save("legacy_opset9.onnx",
         [helper.make_node("Constant", [], ["k"], value=w("kv", (1, 4))),
          helper.make_node("Add", ["x", "k"], ["a"]),
          helper.make_node("Softmax", ["a"], ["s"], axis=1),
          helper.make_node("Unsqueeze", ["s"], ["y"], axes=[0])],
         [vi("x", [2, 4])], [vi("y", [1, 2, 4])], opset=9)
    save("elementwise.onnx",
         [helper.make_node("Mul", ["x", "x"], ["m"]),
          helper.make_node("Sigmoid", ["m"], ["s"]),
          helper.make_node("Where", ["c", "s", "x"], ["y"])],
         [vi("x", [2, 3]), vi("c", [1, 3], TensorProto.BOOL)], [vi("y", [2, 3])])

    # Dictionary: op names and attribute names from ir/ops.h, plus external-data keys.
    ops_h = open(os.path.join(HERE, "..", "..", "ir", "ops.h")).read()
    words = set(re.findall(r"^\s+X\((\w+),", ops_h, re.M))
    words |= set(re.findall(r"(\w+):(?:fs|is|ss|ts|gs|f|i|s|t|g)\b", ops_h))
    words |= {"ai.onnx", "location", "offset", "length", "checksum", "com.microsoft"}
    with open(os.path.join(HERE, "onnx.dict"), "w") as f:
        f.write("# libFuzzer dictionary, written by gen_seeds.py\n")
        for k in sorted(words):
            f.write('"%s"\n' % k)


if __name__ == "__main__":
    main()
