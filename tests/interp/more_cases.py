"""Cases (the text format of tests/interp/ktest.h) for the ops of QC_MORE_OPS that ONNX's node
tests miss: references from torch/torchvision (an independent implementation) and exact error
messages for bad inputs.

  more_cases.py refs      numeric cases against torch / torchvision / numpy
  more_cases.py errors    bad inputs: exact messages, never a crash
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from kcases import Case  # noqa: E402

rng = np.random.default_rng(4321)


def rand(shape, lo=-3, hi=3):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def i64(v):
    return np.array(v, dtype=np.int64)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def refs():
    # Resize against torch's interpolate: half_pixel bilinear/bicubic, align_corners, nearest.
    x = rand((2, 3, 5, 7))
    for mode, tm in (('linear', 'bilinear'), ('cubic', 'bicubic')):
        for ac in (False, True):
            y = F.interpolate(t(x), size=(8, 4), mode=tm, align_corners=ac).numpy()
            Case('resize_%s_ac%d' % (mode, ac), 'Resize').attr('mode', mode).attr(
                'coordinate_transformation_mode', 'align_corners' if ac else 'half_pixel').inp(
                x).inp(None).inp(None).inp(i64([2, 3, 8, 4])).out(y).tol(1e-4, 1e-5).emit()
    # torch's 'nearest' is floor(x_out * in / out): asymmetric with floor when given scales.
    y = F.interpolate(t(x), scale_factor=(2.0, 0.5), mode='nearest').numpy()
    Case('resize_nearest_floor', 'Resize').attr('coordinate_transformation_mode', 'asymmetric').attr(
        'nearest_mode', 'floor').inp(x).inp(None).inp(np.array([1, 1, 2, 0.5], np.float32)).out(y).emit()
    # Integer data: nearest copies any dtype.
    xi = rng.integers(-100, 100, size=(1, 1, 3, 3)).astype(np.int64)
    Case('resize_nearest_i64', 'Resize').attr('coordinate_transformation_mode', 'asymmetric').attr(
        'nearest_mode', 'floor').inp(xi).inp(None).inp(np.array([1, 1, 2, 2], np.float32)).out(
        xi.repeat(2, axis=2).repeat(2, axis=3)).emit()

    # TopK: ties keep the lower index; k = 0; integers; smallest.
    x = np.array([[3, 1, 3, 2, 1], [5, 5, 5, 0, 9]], np.float32)
    Case('topk_ties', 'TopK').attr('axis', 1).inp(x).inp(i64([3])).out(
        np.array([[3, 3, 2], [9, 5, 5]], np.float32)).out(i64([[0, 2, 3], [4, 0, 1]])).emit()
    Case('topk_smallest_ties', 'TopK').attr('largest', 0).inp(x).inp(i64([2])).out(
        np.array([[1, 1], [0, 5]], np.float32)).out(i64([[1, 4], [3, 0]])).emit()
    Case('topk_k0', 'TopK').inp(x).inp(i64([0])).out(np.zeros((2, 0), np.float32)).out(
        np.zeros((2, 0), np.int64)).emit()
    xi = rng.integers(-50, 50, size=(4, 6)).astype(np.int64)
    v, ix = torch.topk(t(xi), 3, dim=0)
    Case('topk_i64_axis0', 'TopK').attr('axis', 0).inp(xi).inp(i64([3])).out(v.numpy()).out(
        ix.numpy()).emit()

    # OneHot: out-of-range indices give an all-off row.
    Case('onehot_oob', 'OneHot').inp(i64([0, 3, -1, 7])).inp(i64(3)).inp(
        np.array([0, 1], np.float32)).out(np.array(
            [[1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]], np.float32)).emit()

    # GatherND with negative indices and batch_dims.
    d = rand((2, 3, 4))
    ix = i64([[[-1, 0]], [[0, -4]]])
    Case('gathernd_neg', 'GatherND').attr('batch_dims', 1).inp(d).inp(ix).out(
        np.stack([d[0, -1, 0][None], d[1, 0, -4][None]])).emit()

    # ScatterElements / ScatterND reductions, including duplicates and integer data.
    d = rng.integers(-9, 9, size=(3, 4)).astype(np.int64)
    ix = i64([[1, 1], [0, 2], [2, 2]])
    up = rng.integers(-9, 9, size=(3, 2)).astype(np.int64)
    for red in ('add', 'mul'):
        want = d.copy()
        for i in range(3):
            for j in range(2):
                if red == 'add':
                    want[ix[i, j], j] += up[i, j]
                else:
                    want[ix[i, j], j] *= up[i, j]
        Case('scatter_elements_%s_i64' % red, 'ScatterElements').attr('reduction', red).inp(
            d).inp(ix).inp(up).out(want).emit()
    d = rand((4, 3))
    ix = i64([[1], [3], [1]])
    up = rand((3, 3))
    want = d.copy()
    for i in range(3):
        want[ix[i, 0]] *= up[i]
    Case('scatternd_mul_dup', 'ScatterND').attr('reduction', 'mul').inp(d).inp(ix).inp(up).out(
        want).emit()

    # Losses against torch: weights, ignore_index, every reduction.
    x = rand((3, 5, 2, 2))
    y = rng.integers(0, 5, size=(3, 2, 2)).astype(np.int64)
    y[0, 0, 0] = y[2, 1, 1] = -3
    w = rand((5,), 0.5, 2)
    for red in ('none', 'sum', 'mean'):
        ce = F.cross_entropy(t(x), t(y), weight=t(w), ignore_index=-3, reduction=red).numpy()
        lp = F.log_softmax(t(x), dim=1).numpy()
        Case('sce_%s' % red, 'SoftmaxCrossEntropyLoss').attr('reduction', red).attr(
            'ignore_index', -3).inp(x).inp(y).inp(w).out(ce).out(lp).tol(1e-5, 1e-6).emit()
        nl = F.nll_loss(t(lp), t(y), weight=t(w), ignore_index=-3, reduction=red).numpy()
        Case('nll_%s' % red, 'NegativeLogLikelihoodLoss').attr('reduction', red).attr(
            'ignore_index', -3).inp(lp).inp(y).inp(w).out(nl).tol(1e-5, 1e-6).emit()
    # Every target ignored: the mean divides 0 by 0 (torch gives NaN too).
    Case('nll_all_ignored', 'NegativeLogLikelihoodLoss').attr('ignore_index', 1).inp(
        rand((2, 3))).inp(i64([1, 1])).out(np.array(np.nan, np.float32)).emit()

    # NonMaxSuppression against torchvision's nms (one batch, one class).
    xy = rng.uniform(0, 20, size=(40, 2)).astype(np.float32)
    wh = rng.uniform(2, 10, size=(40, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + wh], 1)  # x1, y1, x2, y2
    scores = rng.permutation(40).astype(np.float32) / 40
    keep = torchvision.ops.nms(t(boxes), t(scores), 0.3).numpy()
    sel = np.stack([np.zeros_like(keep), np.zeros_like(keep), keep], 1).astype(np.int64)
    onnx_boxes = boxes[:, [1, 0, 3, 2]][None]  # y1, x1, y2, x2
    Case('nms_vs_torchvision', 'NonMaxSuppression').inp(onnx_boxes).inp(scores[None, None]).inp(
        i64([100])).inp(np.array([0.3], np.float32)).out(sel).emit()
    Case('nms_max0', 'NonMaxSuppression').inp(onnx_boxes).inp(scores[None, None]).out(
        np.zeros((0, 3), np.int64)).emit()

    # RoiAlign against torchvision (aligned = half_pixel), several sampling ratios.
    x = rand((2, 3, 10, 12))
    rois = np.array([[0.5, 1, 9, 7.5], [2, 2, 3, 3], [-1, 0, 15, 12]], np.float32)
    bi = i64([1, 0, 1])
    tv_rois = t(np.concatenate([bi[:, None].astype(np.float32), rois], 1))
    for aligned in (False, True):
        for sr in (0, 2):
            y = torchvision.ops.roi_align(t(x), tv_rois, (3, 4), spatial_scale=0.75,
                                          sampling_ratio=sr, aligned=aligned).numpy()
            Case('roialign_a%d_s%d' % (aligned, sr), 'RoiAlign').attr(
                'coordinate_transformation_mode', 'half_pixel' if aligned else 'output_half_pixel'
            ).attr('output_height', 3).attr('output_width', 4).attr('sampling_ratio', sr).attr(
                'spatial_scale', 0.75).inp(x).inp(rois).inp(bi).out(y).tol(1e-4, 1e-5).emit()

    # GridSample against torch for every mode and padding.
    x = rand((2, 2, 5, 6))
    g = rand((2, 4, 3, 2), -1.3, 1.3)
    for mode in ('bilinear', 'nearest', 'bicubic'):
        for pad in ('zeros', 'border', 'reflection'):
            for ac in (0, 1):
                y = F.grid_sample(t(x), t(g), mode=mode, padding_mode=pad, align_corners=bool(ac))
                Case('gridsample_%s_%s_%d' % (mode, pad, ac), 'GridSample').attr('mode', mode).attr(
                    'padding_mode', pad).attr('align_corners', ac).inp(x).inp(g).out(
                    y.numpy()).tol(1e-4, 1e-5).emit()

    # LSTM / GRU against torch: bidirectional, both layouts. torch orders LSTM gates i, f, g, o
    # (ONNX: i, o, f, c) and GRU gates r, z, n (ONNX: z, r, h); torch's GRU is ONNX's
    # linear_before_reset = 1.
    torch.manual_seed(7)
    S, B, I, H = 5, 3, 4, 6
    x = rand((S, B, I))
    lstm = torch.nn.LSTM(I, H, bidirectional=True)
    gru = torch.nn.GRU(I, H, bidirectional=True)

    def pack(mod, order):
        W, R, Bs = [], [], []
        for sfx in ('', '_reverse'):
            def re(w):
                return np.concatenate([w.reshape(len(order), H, -1)[k] for k in order])
            wi = getattr(mod, 'weight_ih_l0' + sfx).detach().numpy()
            wh = getattr(mod, 'weight_hh_l0' + sfx).detach().numpy()
            bi_ = getattr(mod, 'bias_ih_l0' + sfx).detach().numpy()[:, None]
            bh = getattr(mod, 'bias_hh_l0' + sfx).detach().numpy()[:, None]
            W.append(re(wi)), R.append(re(wh))
            Bs.append(np.concatenate([re(bi_)[:, 0], re(bh)[:, 0]]))
        return np.stack(W), np.stack(R), np.stack(Bs)

    for name, mod, order in (('lstm', lstm, [0, 3, 1, 2]), ('gru', gru, [1, 0, 2])):
        W, R, Bs = pack(mod, order)
        with torch.no_grad():
            y, hc = mod(t(x))
        hn = hc[0] if name == 'lstm' else hc
        y = y.numpy().reshape(S, B, 2, H).transpose(0, 2, 1, 3)
        for layout in (0, 1):
            c = Case('%s_bidir_layout%d' % (name, layout), name.upper()).attr(
                'direction', 'bidirectional').attr('hidden_size', H).attr('layout', layout)
            if name == 'gru':
                c.attr('linear_before_reset', 1)
            xi = x if layout == 0 else x.transpose(1, 0, 2)
            c.inp(xi).inp(W).inp(R).inp(Bs)
            c.out(y if layout == 0 else y.transpose(2, 0, 1, 3))
            c.out(hn.numpy() if layout == 0 else hn.numpy().transpose(1, 0, 2))
            if name == 'lstm':
                cn = hc[1].numpy()
                c.out(cn if layout == 0 else cn.transpose(1, 0, 2))
            c.tol(1e-4, 1e-5).emit()

    # DFT against numpy's FFT: padding/truncation by dft_length, onesided, complex inverse.
    x = rand((2, 7, 3, 1))
    for ln, one in ((7, 0), (10, 1), (5, 0)):
        y = np.fft.rfft(x[..., 0], n=ln, axis=1) if one else np.fft.fft(x[..., 0], n=ln, axis=1)
        Case('dft_n%d_one%d' % (ln, one), 'DFT').attr('onesided', one).inp(x).inp(i64(ln)).out(
            np.stack([y.real, y.imag], -1).astype(np.float32)).tol(1e-4, 1e-4).emit()
    xc = rand((3, 6, 2))
    y = np.fft.ifft(xc[..., 0] + 1j * xc[..., 1], axis=1)
    Case('dft_inverse_complex', 'DFT').attr('inverse', 1).inp(xc).out(
        np.stack([y.real, y.imag], -1).astype(np.float32)).tol(1e-4, 1e-5).emit()

    # Unique (first-occurrence order), Det, BitShift past the width, Compress, MaxUnpool.
    x = i64([4, 1, 4, -2, 1, 7])
    Case('unique_unsorted_i64', 'Unique').attr('sorted', 0).inp(x).out(i64([4, 1, -2, 7])).out(
        i64([0, 1, 3, 5])).out(i64([0, 1, 0, 2, 1, 3])).out(i64([2, 2, 1, 1])).emit()
    m = rand((3, 4, 4))
    Case('det_batch', 'Det').inp(m).out(np.linalg.det(m.astype(np.float64)).astype(np.float32)).tol(
        1e-4, 1e-5).emit()
    Case('det_singular', 'Det').inp(np.array([[1, 2], [2, 4]], np.float32)).out(
        np.array(0, np.float32)).emit()
    Case('bitshift_wide', 'BitShift').attr('direction', 'LEFT').inp(
        np.array([1, 3, 255], np.uint8)).inp(np.array([7, 8, 200], np.uint8)).out(
        np.array([128, 0, 0], np.uint8)).emit()
    Case('compress_short_cond', 'Compress').attr('axis', 1).inp(np.arange(8, dtype=np.int32).reshape(2, 4)).inp(
        np.array([False, True], np.bool_)).out(np.array([[1], [5]], np.int32)).emit()
    xm = rand((1, 2, 4, 4))
    p, ind = F.max_pool2d(t(xm), 2, 2, return_indices=True)
    # torch's indices are per plane; ONNX's count over the whole tensor.
    flat = ind.numpy() + (np.arange(2) * 16)[None, :, None, None]
    want = F.max_unpool2d(p, ind, 2, 2).numpy()
    Case('maxunpool_vs_torch', 'MaxUnpool').attr('kernel_shape', [2, 2]).attr('strides', [2, 2]).inp(
        p.numpy()).inp(flat.astype(np.int64)).out(want).emit()


def errors():
    x = rand((2, 4))
    E = Case
    E('topk_k_big', 'TopK').inp(x).inp(i64([5])).out(x).out(x.astype(np.int64)).err(
        "node 'topk_k_big' (TopK): K = 5 exceeds the size 4 of axis 1").emit()
    E('topk_k_neg', 'TopK').inp(x).inp(i64([-1])).out(x).out(x.astype(np.int64)).err(
        "node 'topk_k_neg' (TopK): K = -1 is negative").emit()
    E('topk_axis', 'TopK').attr('axis', 2).inp(x).inp(i64([1])).out(x).out(x.astype(np.int64)).err(
        "node 'topk_axis' (TopK): axis 2 is out of range for rank 2").emit()
    E('gathernd_oob', 'GatherND').inp(x).inp(i64([[1, 4]])).out(x[:1, 0]).err(
        "node 'gathernd_oob' (GatherND): index 4 out of range for axis 1 of size 4").emit()
    E('gathernd_last', 'GatherND').inp(x).inp(i64([[1, 1, 1]])).out(x).err(
        "node 'gathernd_last' (GatherND): indices' last dim 3 must be in [1, 2]").emit()
    E('scatternd_oob', 'ScatterND').inp(x).inp(i64([[2]])).inp(rand((1, 4))).out(x).err(
        "node 'scatternd_oob' (ScatterND): index 2 out of range for axis 0 of size 2").emit()
    E('scatternd_shape', 'ScatterND').inp(x).inp(i64([[1]])).inp(rand((1, 3))).out(x).err(
        "node 'scatternd_shape' (ScatterND): updates must have shape indices.shape[:-1] + "
        "data.shape[1:]").emit()
    E('scatter_elements_oob', 'ScatterElements').attr('axis', 1).inp(x).inp(i64([[0, -5]])).inp(
        rand((1, 2))).out(x).err(
        "node 'scatter_elements_oob' (ScatterElements): index -5 out of range for axis 1 of size 4").emit()
    E('scatter_reduction', 'ScatterElements').attr('reduction', 'max').inp(x).inp(i64([[0]])).inp(
        rand((1, 1))).out(x).err(
        "node 'scatter_reduction' (ScatterElements): reduction 'max' is not supported").emit()
    E('nll_target_oob', 'NegativeLogLikelihoodLoss').inp(rand((2, 3))).inp(i64([0, 3])).out(
        np.array(0, np.float32)).err(
        "node 'nll_target_oob' (NegativeLogLikelihoodLoss): target 3 is out of range for 3 classes").emit()
    E('nll_target_shape', 'NegativeLogLikelihoodLoss').inp(rand((2, 3, 4))).inp(i64([[0, 1, 2]] * 2)).out(
        np.array(0, np.float32)).err(
        "node 'nll_target_shape' (NegativeLogLikelihoodLoss): target dim 1 is 3, input's is 4").emit()
    E('sce_reduction', 'SoftmaxCrossEntropyLoss').attr('reduction', 'avg').inp(rand((2, 3))).inp(
        i64([0, 1])).out(np.array(0, np.float32)).err(
        "node 'sce_reduction' (SoftmaxCrossEntropyLoss): reduction 'avg' must be none, sum or mean").emit()
    E('resize_both', 'Resize').inp(x).inp(None).inp(np.array([1, 2], np.float32)).inp(i64([2, 8])).out(
        x).err("node 'resize_both' (Resize): exactly one of scales and sizes must be given").emit()
    E('resize_scale_len', 'Resize').inp(x).inp(None).inp(np.array([2], np.float32)).out(x).err(
        "node 'resize_scale_len' (Resize): scales has 1 entries for a rank-2 input").emit()
    E('resize_mode', 'Resize').attr('mode', 'area').inp(x).inp(None).inp(
        np.array([1, 2], np.float32)).out(x).err(
        "node 'resize_mode' (Resize): unknown mode 'area'").emit()
    E('roialign_batch', 'RoiAlign').inp(rand((1, 1, 4, 4))).inp(rand((1, 4))).inp(i64([1])).out(
        rand((1, 1, 1, 1))).err(
        "node 'roialign_batch' (RoiAlign): batch index 1 is out of range for 1 images").emit()
    E('nms_boxes', 'NonMaxSuppression').inp(rand((1, 3, 5))).inp(rand((1, 1, 3))).out(
        i64([[0, 0, 0]])).err("node 'nms_boxes' (NonMaxSuppression): boxes must be [batches, "
                              "boxes, 4] and scores [batches, classes, boxes]").emit()
    E('onehot_depth', 'OneHot').inp(i64([0])).inp(i64(0)).inp(np.array([0, 1], np.float32)).out(
        x).err("node 'onehot_depth' (OneHot): depth 0 must be at least 1").emit()
    E('maxunpool_oob', 'MaxUnpool').attr('kernel_shape', [2]).attr('strides', [2]).inp(
        rand((1, 1, 2))).inp(i64([[[0, 4]]])).out(rand((1, 1, 4))).err(
        "node 'maxunpool_oob' (MaxUnpool): index 4 is out of range for an output of 4 elements").emit()
    E('reverse_len', 'ReverseSequence').inp(rand((3, 2, 1))).inp(i64([1, 4])).out(rand((3, 2, 1))).err(
        "node 'reverse_len' (ReverseSequence): sequence length 4 is out of [0, 3]").emit()
    E('compress_long', 'Compress').attr('axis', 0).inp(x).inp(np.ones(3, np.bool_)).out(x).err(
        "node 'compress_long' (Compress): condition has 3 entries, the axis only 2").emit()
    E('bitshift_dir', 'BitShift').attr('direction', 'UP').inp(np.ones(2, np.uint8)).inp(
        np.ones(2, np.uint8)).out(np.ones(2, np.uint8)).err(
        "node 'bitshift_dir' (BitShift): direction 'UP' must be LEFT or RIGHT").emit()
    E('det_shape', 'Det').inp(rand((2, 3))).out(np.array(0, np.float32)).err(
        "node 'det_shape' (Det): input must be [..., M, M]").emit()


if __name__ == '__main__':
    {'refs': refs, 'errors': errors}[sys.argv[1]]()
