#!/usr/bin/python3
"""Builds the int8 QDQ model that ONNX Runtime's own quantizer would write, for the ORT int8
baseline of benchmarks/codegen_bench.sh.

quantc's exporter writes its exact integer semantics in QDQ form: residual adds as
Cast/Mul/Floor/Add/Clip chains (dyadic requantization of each branch, one clamp), and a Clip
between a Conv and its QuantizeLinear where the accumulator is clamped. ORT cannot fuse those
into int8 kernels (on ResNet-18 only 9 of 20 convs become QLinearConv), so that graph
understates what ORT does with an ordinary int8 model. This script rebuilds the standard form
from the fp32 model with quantc's calibration:
  - BatchNormalization folded into the preceding Conv;
  - weights int8 symmetric per output channel (max|w|/127), biases int32 at s_in*s_w;
  - every activation quantc quantized gets QuantizeLinear -> DequantizeLinear with quantc's
    scale and zero point (u8 after ReLU, i8 elsewhere), so ORT sees DQ -> Conv -> Q,
    DQ -> Add -> Q, DQ -> MaxPool -> Q and fuses them (QLinearConv, QLinearAdd, ...);
  - a Relu whose output is u8 with zero point 0 is dropped (QuantizeLinear's clamp at 0 is that
    Relu, as ORT's own ReluQuantFusion does).

usage: qdq_standard.py FP32.onnx QUANTC_QDQ.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper as nh


def scale_of(qinit, t):
    """quantc's (scale, zero point) initializer names for fp32 tensor T, or None."""
    for base in (t, t + "_q"):
        for s, z in ((base + "_scale", base + "_zero_point"),
                     (base + "_qscale", base + "_qzero_point")):
            if s in qinit and z in qinit and qinit[s].size == 1:
                return qinit[s], qinit[z]
    return None


def main(fp32_path, qdq_path, out_path):
    m = onnx.load(fp32_path)
    g = m.graph
    qinit = {i.name: nh.to_array(i) for i in onnx.load(qdq_path).graph.initializer}
    init = {i.name: nh.to_array(i) for i in g.initializer}
    for n in g.node:  # Constant nodes as initializers
        if n.op_type == "Constant":
            init[n.output[0]] = nh.to_array(n.attribute[0].t)
    nodes = [n for n in g.node if n.op_type != "Constant"]

    def uses(name):
        return [n for n in nodes if name in n.input] + [o for o in g.output if o.name == name]

    # 1. fold BatchNormalization into the Conv before it: w' = w*s, b' = (b-mean)*s + beta,
    #    s = gamma / sqrt(var + eps)
    out = []
    prod = {}
    for n in nodes:
        if n.op_type == "BatchNormalization":
            p = prod.get(n.input[0])
            if p is None or p.op_type != "Conv" or len(uses(n.input[0])) != 1:
                raise SystemExit(f"qdq_standard: BN {n.name} does not follow a Conv alone")
            eps = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-5)
            gam, beta, mean, var = (init[x].astype(np.float64) for x in n.input[1:5])
            s = gam / np.sqrt(var + eps)
            w = init[p.input[1]].astype(np.float64)
            b = init[p.input[2]].astype(np.float64) if len(p.input) > 2 else np.zeros(w.shape[0])
            wn, bn = p.name + "_wfold", p.name + "_bfold"
            init[wn] = (w * s.reshape(-1, 1, 1, 1)).astype(np.float32)
            init[bn] = ((b - mean) * s + beta).astype(np.float32)
            p.input[1] = wn
            if len(p.input) > 2:
                p.input[2] = bn
            else:
                p.input.append(bn)
            del prod[p.output[0]]
            p.output[0] = n.output[0]
            prod[n.output[0]] = p
            continue
        out.append(n)
        for o in n.output:
            prod[o] = n
    nodes = out

    # 2. drop a Relu whose output quantizes to u8 with zero point 0
    out = []
    for n in nodes:
        if n.op_type == "Relu":
            sz = scale_of(qinit, n.output[0])
            p = prod.get(n.input[0])
            if (sz and sz[1].dtype == np.uint8 and int(sz[1]) == 0 and p is not None
                    and len(uses(n.input[0])) == 1):
                p.output[list(p.output).index(n.input[0])] = n.output[0]
                prod[n.output[0]] = p
                continue
        out.append(n)
    nodes = out

    # 3. weights and biases of Conv/Gemm: int8 per output channel, int32 bias
    new_init = {}
    pre = {}  # node id -> DequantizeLinear nodes to place before it

    def dq(name, arr, scale, zp, axis):
        new_init[name + "_q"] = arr
        new_init[name + "_s"] = scale.astype(np.float32)
        new_init[name + "_z"] = zp
        return helper.make_node("DequantizeLinear", [name + "_q", name + "_s", name + "_z"],
                                [name + "_dq"], name=name + "_DQ", axis=axis)

    for n in nodes:
        if n.op_type not in ("Conv", "Gemm"):
            continue
        if n.op_type == "Gemm":
            tb = next((a.i for a in n.attribute if a.name == "transB"), 0)
            if not tb:
                continue
        sin = scale_of(qinit, n.input[0])
        w = init[n.input[1]]
        sw = np.abs(w.reshape(w.shape[0], -1)).max(axis=1) / 127.0
        sw = np.where(sw > 0, sw, 1.0).astype(np.float32)
        wq = np.clip(np.round(w / sw.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127)
        lst = [dq(n.name + "_w", wq.astype(np.int8), sw, np.zeros(w.shape[0], np.int8), 0)]
        n.input[1] = n.name + "_w_dq"
        if len(n.input) > 2 and sin is not None:
            sb = (float(sin[0]) * sw).astype(np.float32)
            bq = np.round(init[n.input[2]] / sb).astype(np.int32)
            lst.append(dq(n.name + "_b", bq, sb, np.zeros(w.shape[0], np.int32), 0))
            n.input[2] = n.name + "_b_dq"
        pre[id(n)] = lst

    # 4. QuantizeLinear -> DequantizeLinear on every activation quantc quantized
    graph_out = {o.name for o in g.output}
    post = {}  # producer id (or None: graph input) -> Q/DQ nodes after it
    rename = {}
    tensors = [(None, i.name) for i in g.input if i.name not in init]
    tensors += [(id(n), o) for n in nodes for o in n.output]
    for pid, t in tensors:
        sz = scale_of(qinit, t)
        u = uses(t)
        if sz is None and len(u) == 1 and getattr(u[0], "op_type", "") == "Flatten":
            sz = scale_of(qinit, u[0].output[0])  # a reshape keeps its input's scale
        if sz is None or t in graph_out:
            continue
        s, z = t + "_act_s", t + "_act_z"
        new_init[s], new_init[z] = sz[0].astype(np.float32), sz[1]
        post.setdefault(pid, []).extend([
            helper.make_node("QuantizeLinear", [t, s, z], [t + "_act_q"], name=t + "_Q"),
            helper.make_node("DequantizeLinear", [t + "_act_q", s, z], [t + "_act_dq"],
                             name=t + "_DQ")])
        rename[t] = t + "_act_dq"
    for n in nodes:
        for i, x in enumerate(n.input):
            if x in rename:
                n.input[i] = rename[x]

    final = list(post.get(None, []))
    for n in nodes:
        final += pre.get(id(n), []) + [n] + post.get(id(n), [])
    used = {x for n in final for x in n.input}
    inits = [nh.from_array(a, k) for k, a in init.items() if k in used]
    inits += [nh.from_array(np.asarray(a), k) for k, a in new_init.items()]
    del g.node[:]
    g.node.extend(final)
    del g.initializer[:]
    g.initializer.extend(inits)
    keep = {i.name for i in g.initializer}
    inputs = [i for i in g.input if i.name not in keep or i.name in used]
    del g.input[:]
    g.input.extend(x for x in inputs if x.name not in keep)
    del g.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, out_path)
    nq = sum(1 for n in final if n.op_type == "QuantizeLinear")
    print(f"qdq_standard: {out_path}: {nq} activations quantized, "
          f"{len(pre)} weighted layers int8")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
