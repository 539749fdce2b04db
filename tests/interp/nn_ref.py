#!/usr/bin/python3
"""Reference outputs for tests/interp/test_nn_kernels.c, computed with PyTorch and numpy.

usage: nn_ref.py OUTDIR  -> OUTDIR/cases.txt plus one raw little-endian file per tensor.

cases.txt, one block per case:
  case NAME OP
  ai NAME INT | af NAME FLOAT | ais NAME INT... | as NAME STRING      (attributes)
  in DTYPE RANK DIMS... FILE  | in -                                  (inputs, in order)
  out DTYPE RANK DIMS... FILE | out -                                 (expected outputs)
  end
The ONNX semantics that PyTorch lacks (asymmetric pads, auto_pad, output_shape, ONNX's even
LRN window, storage_order) are built here from PyTorch primitives or numpy, independently of
quantc's C code."""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1234)
lines = []
counter = [0]

DT = {np.float32: "f32", np.int64: "i64", np.uint8: "u8", np.int8: "i8"}


def put(kind, a):
    if a is None:
        lines.append(f"{kind} -")
        return
    a = np.array(a, order="C")  # (ascontiguousarray would make a scalar 1-D)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    name = f"t{counter[0]}.bin"
    counter[0] += 1
    a.tofile(os.path.join(OUT, name))
    dims = " ".join(str(d) for d in a.shape)
    lines.append(f"{kind} {DT[a.dtype.type]} {a.ndim} {dims} {name}".replace("  ", " "))


def case(name, op, ins, outs, **attrs):
    lines.append(f"case {name} {op}")
    for k, v in attrs.items():
        if isinstance(v, str):
            lines.append(f"as {k} {v}")
        elif isinstance(v, float):
            lines.append(f"af {k} {v!r}")
        elif isinstance(v, (list, tuple)):
            lines.append(f"ais {k} " + " ".join(str(int(x)) for x in v))
        else:
            lines.append(f"ai {k} {int(v)}")
    for a in ins:
        put("in", a)
    for a in outs:
        put("out", a)
    lines.append("end")


def rand(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def t64(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def f32(t):
    return t.numpy().astype(np.float32)


def torch_pad(x, pads, value=0.0):
    """ONNX pads [b0, b1, ..., e0, e1, ...] over the spatial axes -> F.pad."""
    n = len(pads) // 2
    fp = []
    for i in reversed(range(n)):
        fp += [pads[i], pads[n + i]]
    return F.pad(x, fp, value=value)


CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def same_pads(ins, ks, strides, dils, upper):
    pads_b, pads_e = [], []
    for i, k, s, d in zip(ins, ks, strides, dils):
        out = -(-i // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - i)
        b = total // 2 if upper else total - total // 2
        pads_b.append(b)
        pads_e.append(total - b)
    return pads_b + pads_e


# ---- Conv -----------------------------------------------------------------------------------
def conv(name, xs, ws, bias=True, group=1, strides=None, dilations=None, pads=None,
         auto_pad=None, kernel_attr=False):
    x, w = rand(*xs), rand(*ws)
    b = rand(ws[0]) if bias else None
    nsp = len(xs) - 2
    st = strides or [1] * nsp
    dl = dilations or [1] * nsp
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        p = same_pads(xs[2:], ws[2:], st, dl, auto_pad == "SAME_UPPER")
    elif auto_pad == "VALID":
        p = [0] * (2 * nsp)
    else:
        p = pads or [0] * (2 * nsp)
    y = CONV[nsp](torch_pad(t64(x), p), t64(w), t64(b) if bias else None, stride=st,
                  dilation=dl, groups=group)
    attrs = {}
    if group != 1:
        attrs["group"] = group
    if strides:
        attrs["strides"] = strides
    if dilations:
        attrs["dilations"] = dilations
    if pads:
        attrs["pads"] = pads
    if auto_pad:
        attrs["auto_pad"] = auto_pad
    if kernel_attr:
        attrs["kernel_shape"] = list(ws[2:])
    case(name, "Conv", [x, w] + ([b] if bias else []), [f32(y)], **attrs)


conv("conv_basic_pad1", (2, 3, 7, 6), (4, 3, 3, 3), pads=[1, 1, 1, 1])
conv("conv_group2_stride_dil_asym", (1, 4, 9, 8), (6, 2, 3, 3), group=2, strides=[2, 1],
     dilations=[2, 1], pads=[1, 0, 2, 1])
conv("conv_depthwise_s2", (1, 8, 10, 10), (8, 1, 3, 3), group=8, strides=[2, 2],
     pads=[1, 1, 1, 1])
conv("conv_depthwise_mult2_dil2", (2, 3, 7, 7), (6, 1, 3, 3), group=3, dilations=[2, 2],
     pads=[2, 2, 2, 2])
conv("conv_depthwise_asym_s3", (1, 4, 11, 9), (4, 1, 5, 3), group=4, strides=[3, 2],
     pads=[0, 2, 3, 1])
conv("conv_pointwise", (2, 16, 5, 5), (8, 16, 1, 1))
conv("conv_pointwise_s2", (1, 8, 6, 6), (4, 8, 1, 1), strides=[2, 2], bias=False)
conv("conv_same_upper", (1, 2, 7, 7), (3, 2, 4, 4), strides=[2, 2], auto_pad="SAME_UPPER")
conv("conv_same_lower", (1, 2, 7, 7), (3, 2, 4, 4), strides=[2, 2], auto_pad="SAME_LOWER")
conv("conv_valid", (1, 2, 8, 7), (3, 2, 3, 3), strides=[2, 2], auto_pad="VALID")
conv("conv_1d", (2, 3, 11), (5, 3, 3), strides=[2], pads=[1, 2], dilations=[2])
conv("conv_3d", (1, 2, 5, 6, 4), (3, 2, 3, 2, 2), strides=[1, 2, 1], pads=[1, 0, 1, 1, 1, 0])
conv("conv_big_gemm", (1, 64, 14, 14), (128, 64, 3, 3), pads=[1, 1, 1, 1])
conv("conv_nobias_kernel_attr", (1, 3, 6, 6), (2, 3, 2, 2), bias=False, kernel_attr=True)
conv("conv_group4", (2, 8, 6, 6), (8, 2, 3, 3), group=4, pads=[1, 1, 1, 1])
conv("conv_7x7_s2", (1, 3, 32, 32), (16, 3, 7, 7), strides=[2, 2], pads=[3, 3, 3, 3])


# ---- ConvTranspose --------------------------------------------------------------------------
def convt(name, xs, ws, bias=True, group=1, strides=None, dilations=None, pads=None,
          output_padding=None, output_shape=None, auto_pad=None):
    x, w = rand(*xs), rand(*ws)
    m = ws[1] * group
    b = rand(m) if bias else None
    nsp = len(xs) - 2
    st = strides or [1] * nsp
    dl = dilations or [1] * nsp
    op = output_padding or [0] * nsp
    full = CONVT[nsp](t64(x), t64(w), None, stride=st, output_padding=op, groups=group,
                      dilation=dl)
    fulls = list(full.shape[2:])
    if output_shape or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        outs = list(output_shape) if output_shape else [i * s for i, s in zip(xs[2:], st)]
        pb = []
        for f, o in zip(fulls, outs):
            total = f - o
            pb.append(total // 2 if auto_pad == "SAME_UPPER" else total - total // 2)
    else:
        p = pads or [0] * (2 * nsp)
        pb = p[:nsp]
        outs = [f - p[i] - p[nsp + i] for i, f in enumerate(fulls)]
    y = torch.zeros(list(full.shape[:2]) + outs, dtype=torch.float64)
    # y[o] = full[o + pb] where that index exists
    src, dst = [slice(None), slice(None)], [slice(None), slice(None)]
    for f, o, p0 in zip(fulls, outs, pb):
        lo = max(0, -p0)
        hi = min(o, f - p0)
        dst.append(slice(lo, hi))
        src.append(slice(lo + p0, hi + p0))
    y[tuple(dst)] = full[tuple(src)]
    if bias:
        y += t64(b).reshape([1, m] + [1] * nsp)
    attrs = {}
    for k, v in (("group", group if group != 1 else None), ("strides", strides),
                 ("dilations", dilations), ("pads", pads), ("output_padding", output_padding),
                 ("output_shape", output_shape), ("auto_pad", auto_pad)):
        if v is not None:
            attrs[k] = v
    case(name, "ConvTranspose", [x, w] + ([b] if bias else []), [f32(y)], **attrs)


convt("convt_s2_p1_outpad1", (1, 2, 4, 4), (2, 3, 3, 3), strides=[2, 2], pads=[1, 1, 1, 1],
      output_padding=[1, 1])
convt("convt_group2_dil", (2, 4, 3, 5), (4, 3, 3, 2), group=2, dilations=[2, 1], strides=[1, 2])
convt("convt_asym_pads", (1, 3, 5, 4), (3, 2, 3, 3), strides=[2, 3], pads=[0, 2, 1, 1])
convt("convt_output_shape", (1, 1, 3, 3), (1, 2, 3, 3), strides=[3, 2], output_shape=[10, 8])
convt("convt_output_shape_smaller", (1, 2, 4, 4), (2, 2, 3, 3), strides=[2, 2],
      output_shape=[7, 8])
convt("convt_same_upper", (1, 1, 3, 3), (1, 2, 3, 3), strides=[2, 2], auto_pad="SAME_UPPER")
convt("convt_same_lower", (1, 2, 3, 4), (2, 2, 4, 3), strides=[2, 2], auto_pad="SAME_LOWER")
convt("convt_1d", (1, 2, 5), (2, 3, 4), strides=[3], pads=[1, 0])
convt("convt_3d", (1, 2, 3, 2, 3), (2, 2, 2, 3, 2), strides=[2, 1, 2], bias=False)
convt("convt_depthwise", (1, 4, 5, 5), (4, 1, 3, 3), group=4, strides=[2, 2], pads=[1, 1, 1, 1])
convt("convt_big", (1, 32, 8, 8), (32, 16, 4, 4), strides=[2, 2], pads=[1, 1, 1, 1])

# ---- norms ----------------------------------------------------------------------------------
for name, xs in (("bn_4d", (2, 3, 4, 5)), ("bn_2d", (4, 3)), ("bn_3d", (2, 5, 7))):
    c = xs[1]
    x, sc, bb, mu = rand(*xs), rand(c), rand(c), rand(c)
    var = rand(c, lo=0.1, hi=2.0)
    y = F.batch_norm(t64(x), t64(mu), t64(var), t64(sc), t64(bb), training=False, eps=1e-3)
    case(name, "BatchNormalization", [x, sc, bb, mu, var], [f32(y)], epsilon=1e-3)

# training mode: batch statistics (population variance), running stats by ONNX's formula
x, sc, bb, mu = rand(3, 4, 2, 3), rand(4), rand(4), rand(4)
var = rand(4, lo=0.1, hi=2.0)
xd = x.astype(np.float64)
bm, bv = xd.mean(axis=(0, 2, 3)), xd.var(axis=(0, 2, 3))
y = F.batch_norm(t64(x), None, None, t64(sc), t64(bb), training=True, eps=1e-4)
case("bn_training", "BatchNormalization", [x, sc, bb, mu, var],
     [f32(y), mu * 0.8 + bm * 0.2, var * 0.8 + bv * 0.2], epsilon=1e-4, momentum=0.8,
     training_mode=1)

x, sc, bb = rand(2, 3, 4, 5), rand(3), rand(3)
y = F.instance_norm(t64(x), weight=t64(sc), bias=t64(bb), eps=0.01)
case("instnorm", "InstanceNormalization", [x, sc, bb], [f32(y)], epsilon=0.01)
x, sc, bb = rand(1, 2, 3, 2, 4), rand(2), rand(2)
y = F.instance_norm(t64(x), weight=t64(sc), bias=t64(bb), eps=1e-5)
case("instnorm_3d", "InstanceNormalization", [x, sc, bb], [f32(y)])


def layernorm(name, xs, axis, scale_shape, b_shape, eps=1e-5):
    x = rand(*xs)
    sc = rand(*scale_shape)
    b = rand(*b_shape) if b_shape is not None else None
    a = axis if axis >= 0 else axis + len(xs)
    red = tuple(range(a, len(xs)))
    xd = x.astype(np.float64)
    mean = xd.mean(axis=red, keepdims=True)
    var = ((xd - mean) ** 2).mean(axis=red, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    y = (xd - mean) * inv * sc + (b if b is not None else 0)
    attrs = {"axis": axis}
    if eps != 1e-5:
        attrs["epsilon"] = eps
    case(name, "LayerNormalization", [x, sc] + ([b] if b is not None else []),
         [y.astype(np.float32), mean.astype(np.float32), inv.astype(np.float32)], **attrs)


layernorm("ln_axis2", (2, 3, 4, 5), 2, (4, 5), (4, 5))
layernorm("ln_axis_m1_nob", (2, 3, 4, 5), -1, (5,), None, eps=0.1)
layernorm("ln_axis1_bcast_scale", (2, 3, 4, 5), 1, (5,), (4, 1))
layernorm("ln_axis0", (3, 4), 0, (3, 4), (3, 4))


def lrn_onnx(x, size, alpha, beta, bias):
    c = x.shape[1]
    sq = np.zeros_like(x, dtype=np.float64)
    for ch in range(c):
        lo = max(0, ch - (size - 1) // 2)
        hi = min(c - 1, ch + math.ceil((size - 1) / 2))
        sq[:, ch] = (x[:, lo:hi + 1].astype(np.float64) ** 2).sum(axis=1)
    return (x / (bias + alpha / size * sq) ** beta).astype(np.float32)


x = rand(2, 7, 3, 4)
y = F.local_response_norm(t64(x), 3, alpha=2e-4, beta=0.5, k=2.0)
case("lrn_size3_torch", "LRN", [x], [f32(y)], size=3, alpha=2e-4, beta=0.5, bias=2.0)
x = rand(1, 6, 2, 3)
case("lrn_size4_even", "LRN", [x], [lrn_onnx(x, 4, 1e-2, 0.75, 1.0)], size=4, alpha=1e-2)


# ---- pools ----------------------------------------------------------------------------------
MAXP = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVGP = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def sym_pad(pads):
    n = len(pads) // 2
    return all(pads[i] == pads[n + i] for i in range(n))


def maxpool(name, xs, k, strides=None, pads=None, dil=None, ceil=False, indices=False,
            storage_order=0, auto_pad=None, dtype=np.float32):
    nsp = len(xs) - 2
    if dtype == np.float32:
        x = rand(*xs)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, size=xs).astype(dtype)
    st = strides or [1] * nsp
    dl = dil or [1] * nsp
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        p = same_pads(xs[2:], k, st, dl, auto_pad == "SAME_UPPER")
    else:
        p = pads or [0] * (2 * nsp)
    xt = t64(x)
    if sym_pad(p):
        y, idx = MAXP[nsp](xt, k, st, p[:nsp], dl, ceil_mode=ceil, return_indices=True)
    else:
        assert not ceil and not indices
        y = MAXP[nsp](torch_pad(xt, p, value=-math.inf), k, st, 0, dl)
    attrs = {"kernel_shape": k}
    for kk, v in (("strides", strides), ("pads", pads), ("dilations", dil),
                  ("auto_pad", auto_pad)):
        if v is not None:
            attrs[kk] = v
    if ceil:
        attrs["ceil_mode"] = 1
    if storage_order:
        attrs["storage_order"] = 1
    outs = [y.numpy().astype(dtype)]
    if indices:
        idx = idx.numpy().astype(np.int64)  # row-major within each (n, c) plane
        plane = int(np.prod(xs[2:]))
        if storage_order:
            h, w = idx // xs[3], idx % xs[3]
            idx = w * xs[2] + h
        base = (np.arange(xs[0] * xs[1]) * plane).reshape(xs[0], xs[1], *([1] * nsp))
        outs.append(idx + base)
    case(name, "MaxPool", [x], outs, **attrs)


maxpool("maxpool_resnet_idx", (1, 4, 9, 9), [3, 3], [2, 2], [1, 1, 1, 1], indices=True)
maxpool("maxpool_ceil", (1, 2, 6, 6), [3, 3], [2, 2], ceil=True, indices=True)
maxpool("maxpool_ceil_pad", (2, 1, 7, 7), [3, 3], [2, 2], [1, 1, 1, 1], ceil=True)
maxpool("maxpool_ceil_drop_last", (1, 1, 5, 5), [2, 2], [2, 2], [1, 1, 1, 1], ceil=True)
maxpool("maxpool_dil", (1, 2, 8, 8), [2, 2], [1, 1], dil=[2, 2], indices=True)
maxpool("maxpool_storage_order", (2, 2, 5, 6), [2, 2], [2, 2], indices=True, storage_order=1)
maxpool("maxpool_asym", (1, 3, 7, 6), [3, 2], [2, 2], [0, 1, 2, 0])
maxpool("maxpool_same_upper", (1, 2, 5, 5), [2, 2], [1, 1], auto_pad="SAME_UPPER")
maxpool("maxpool_same_lower", (1, 2, 7, 7), [3, 3], [2, 2], auto_pad="SAME_LOWER")
maxpool("maxpool_1d", (2, 3, 9), [3], [2], [1, 1])
maxpool("maxpool_3d", (1, 2, 4, 5, 6), [2, 2, 3], [2, 1, 2], [0, 1, 1, 0, 1, 1])
maxpool("maxpool_u8", (1, 2, 6, 6), [3, 3], [2, 2], [1, 1, 1, 1], dtype=np.uint8)
maxpool("maxpool_i8", (1, 2, 6, 6), [2, 2], [2, 2], dtype=np.int8)


def avgpool(name, xs, k, strides=None, pads=None, include=0, ceil=False, auto_pad=None):
    nsp = len(xs) - 2
    x = rand(*xs)
    st = strides or [1] * nsp
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        p = same_pads(xs[2:], k, st, [1] * nsp, auto_pad == "SAME_UPPER")
    else:
        p = pads or [0] * (2 * nsp)
    xt = t64(x)
    if sym_pad(p) and auto_pad is None:
        y = AVGP[nsp](xt, k, st, p[:nsp], ceil_mode=ceil, count_include_pad=bool(include))
    else:  # sum over the window / number of counted elements, pads built explicitly
        assert not ceil
        ones = torch.ones_like(xt)
        s = AVGP[nsp](torch_pad(xt, p), k, st, 0)
        cnt = AVGP[nsp](torch_pad(ones, p, value=1.0 if include else 0.0), k, st, 0)
        y = s / cnt
    attrs = {"kernel_shape": k}
    for kk, v in (("strides", strides), ("pads", pads), ("auto_pad", auto_pad)):
        if v is not None:
            attrs[kk] = v
    if include:
        attrs["count_include_pad"] = 1
    if ceil:
        attrs["ceil_mode"] = 1
    case(name, "AveragePool", [x], [f32(y)], **attrs)


avgpool("avgpool_pad_excl", (1, 2, 6, 7), [3, 3], [1, 1], [1, 1, 1, 1], include=0)
avgpool("avgpool_pad_incl", (1, 2, 6, 7), [3, 3], [1, 1], [1, 1, 1, 1], include=1)
avgpool("avgpool_ceil_excl", (1, 1, 6, 6), [3, 3], [2, 2], [1, 1, 1, 1], ceil=True)
avgpool("avgpool_ceil_incl", (1, 1, 6, 6), [3, 3], [2, 2], [1, 1, 1, 1], include=1, ceil=True)
avgpool("avgpool_ceil_nopad", (1, 2, 4, 4), [3, 3], [2, 2], ceil=True)
avgpool("avgpool_asym_incl", (1, 2, 5, 6), [2, 3], [2, 2], [1, 0, 0, 2], include=1)
avgpool("avgpool_asym_excl", (1, 2, 5, 6), [2, 3], [2, 2], [1, 0, 0, 2], include=0)
avgpool("avgpool_same_lower", (1, 2, 6, 6), [2, 2], auto_pad="SAME_LOWER")
avgpool("avgpool_same_upper_incl", (1, 2, 5, 5), [3, 3], [2, 2], auto_pad="SAME_UPPER",
        include=1)
avgpool("avgpool_1d", (2, 2, 9), [4], [3], [1, 1])
avgpool("avgpool_3d", (1, 1, 4, 4, 4), [2, 2, 2], [2, 2, 2])

x = rand(1, 2, 6, 6)
y = F.lp_pool2d(t64(x), 2, [2, 2], [2, 2])
case("lppool_p2", "LpPool", [x], [f32(y)], kernel_shape=[2, 2], strides=[2, 2])
x = rand(1, 2, 5, 5, lo=0.1, hi=1.0)
y = F.lp_pool2d(torch_pad(t64(x), [1, 0, 0, 1]), 3, [3, 2], [1, 2])
case("lppool_p3_pads", "LpPool", [x], [f32(y)], kernel_shape=[3, 2], strides=[1, 2],
     pads=[1, 0, 0, 1], p=3)

x = rand(2, 3, 5, 4)
case("gap", "GlobalAveragePool", [x], [x.astype(np.float64).mean(axis=(2, 3), keepdims=True)
                                       .astype(np.float32)])
case("gmp", "GlobalMaxPool", [x], [x.max(axis=(2, 3), keepdims=True)])
case("glp_p3", "GlobalLpPool", [x],
     [(np.abs(x.astype(np.float64)) ** 3).sum(axis=(2, 3), keepdims=True) ** (1 / 3)],
     p=3)
x = rand(1, 2, 3, 2, 4)
case("gap_3d", "GlobalAveragePool", [x],
     [x.astype(np.float64).mean(axis=(2, 3, 4), keepdims=True).astype(np.float32)])


# ---- Gemm, MatMul ---------------------------------------------------------------------------
def gemm(name, m, k, n, ta=0, tb=0, alpha=1.0, beta=1.0, cshape="mn"):
    a = rand(k, m) if ta else rand(m, k)
    b = rand(n, k) if tb else rand(k, n)
    shapes = {"mn": (m, n), "n": (n,), "1n": (1, n), "m1": (m, 1), "scalar": (), "none": None}
    cs = shapes[cshape]
    c = rand(*cs) if cs is not None else None
    ad = a.astype(np.float64).T if ta else a.astype(np.float64)
    bd = b.astype(np.float64).T if tb else b.astype(np.float64)
    y = alpha * ad @ bd + (beta * c.astype(np.float64) if c is not None else 0)
    attrs = {}
    if ta:
        attrs["transA"] = 1
    if tb:
        attrs["transB"] = 1
    if alpha != 1.0:
        attrs["alpha"] = alpha
    if beta != 1.0:
        attrs["beta"] = beta
    case(name, "Gemm", [a, b] + ([c] if c is not None else []), [y.astype(np.float32)], **attrs)


gemm("gemm_nn_mn", 3, 5, 4)
gemm("gemm_tn_vec", 4, 6, 5, ta=1, alpha=0.5, beta=2.0, cshape="n")
gemm("gemm_nt_1n", 7, 3, 2, tb=1, cshape="1n")
gemm("gemm_tt_m1", 5, 4, 3, ta=1, tb=1, alpha=0.25, beta=0.35, cshape="m1")
gemm("gemm_scalar_c", 2, 3, 4, cshape="scalar")
gemm("gemm_no_c", 2, 10, 3, cshape="none")
gemm("gemm_beta0", 3, 4, 5, beta=0.0)
gemm("gemm_fc", 1, 512, 100, tb=1, cshape="n")
gemm("gemm_big", 33, 70, 50, ta=1, tb=1, alpha=1.5, cshape="mn")


def matmul(name, ash, bsh):
    a, b = rand(*ash), rand(*bsh)
    y = np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.float32)
    case(name, "MatMul", [a, b], [np.asarray(y, dtype=np.float32)])


matmul("mm_2d", (3, 4), (4, 5))
matmul("mm_1d_2d", (4,), (4, 5))
matmul("mm_2d_1d", (3, 4), (4,))
matmul("mm_1d_1d", (6,), (6,))
matmul("mm_3d_2d", (2, 3, 4), (4, 5))
matmul("mm_2d_3d", (3, 4), (2, 4, 5))
matmul("mm_bcast_4d", (2, 1, 3, 4), (1, 5, 4, 6))
matmul("mm_1d_3d", (4,), (3, 4, 2))
matmul("mm_3d_1d", (2, 3, 4), (4,))
matmul("mm_big_batch", (4, 40, 64), (4, 64, 48))


# ---- softmax family -------------------------------------------------------------------------
def hardmax(x, axis):
    idx = np.argmax(x, axis=axis)
    y = np.zeros_like(x)
    np.put_along_axis(y, np.expand_dims(idx, axis), 1.0, axis=axis)
    return y


for axis in (0, 1, 2, -1):
    x = rand(3, 4, 5, lo=-3, hi=3)
    xt = t64(x)
    case(f"softmax_axis{axis}", "Softmax", [x], [f32(torch.softmax(xt, axis))], axis=axis)
    case(f"logsoftmax_axis{axis}", "LogSoftmax", [x], [f32(torch.log_softmax(xt, axis))],
         axis=axis)
    case(f"hardmax_axis{axis}", "Hardmax", [x], [hardmax(x, axis)], axis=axis)
x = np.array([[0, 1, 2, 3], [10000, 10001, 10002, 10003]], dtype=np.float32)
case("softmax_large", "Softmax", [x], [f32(torch.softmax(t64(x), -1))])
case("logsoftmax_large", "LogSoftmax", [x], [f32(torch.log_softmax(t64(x), -1))])
x = np.array([[1, 3, 3, 2], [5, 5, 5, 5]], dtype=np.float32)
case("hardmax_ties", "Hardmax", [x], [hardmax(x, -1)])

with open(os.path.join(OUT, "cases.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"{sum(1 for l in lines if l.startswith('case '))} cases")
