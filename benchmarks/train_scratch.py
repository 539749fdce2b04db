#!/usr/bin/python3
"""Training from scratch: the example architecture from one seeded random initialisation,
trained once by PyTorch and once by `quantc finetune`, with the example model's recipe
(examples/train_fashion_resnet.py: batch 128, SGD Nesterov momentum 0.9, weight decay 5e-4,
one-cycle schedule with peak LR 0.1, random horizontal flips, BN in training mode), on the same
training images; both evaluated on the 10,000 test images.

The full recipe is 4 epochs over 60,000 images; --epochs and --subset give a reduced run with the
same schedule shape (one-cycle over the reduced number of steps) on both sides. The subset is the
first N training images, written as NPY for quantc and used as tensors by PyTorch; each side
shuffles and flips with its own generator, so the two runs see the same images in different
orders (run-to-run noise of that kind is part of the comparison).
Usage: benchmarks/train_scratch.py [--quantc PATH] [--epochs E] [--subset N] [--threads T]
                                   [--seed S] [--out DIR]
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "examples"))
import train_fashion_resnet as tfr  # noqa: E402  (architecture, data, export)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def untie_initializers(path):
    """The exporter stores equal initial tensors (every BN's ones and zeros) once and feeds the
    others through Identity nodes; training would then tie those parameters and running
    statistics together. Give each Identity output its own copy instead."""
    import onnx
    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    keep = []
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[n.input[0]])
            t.name = n.output[0]
            m.graph.initializer.append(t)
        else:
            keep.append(n)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quantc", default=os.path.join(ROOT, "build", "tools", "quantc"))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--subset", type=int, default=0, help="first N training images (0: all)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=tfr.SEED)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "scratch"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    tfr.seed_everything(a.seed)
    xtr, ytr = tfr.load_split(tfr.DATA_DIR, "train")
    xte, yte = tfr.load_split(tfr.DATA_DIR, "test")
    n = a.subset if a.subset else len(xtr)
    xtr, ytr = xtr[:n], ytr[:n]

    # The untrained model, seeded: ONNX for quantc, the same weights for PyTorch.
    init = tfr.FashionResNet()
    init_onnx = os.path.join(a.out, "init.onnx")
    tfr.export_onnx(init, init_onnx)
    untie_initializers(init_onnx)
    state0 = {k: v.clone() for k, v in init.state_dict().items()}
    img = tfr.read_idx(os.path.join(tfr.DATA_DIR, "train-images-idx3-ubyte.gz"))[:n]
    np.save(os.path.join(a.out, "x.npy"), img)
    np.save(os.path.join(a.out, "y.npy"), ytr.numpy())

    # PyTorch, the recipe of examples/train_fashion_resnet.py.
    model = tfr.FashionResNet()
    model.load_state_dict(state0)
    steps_per_epoch = (n + a.batch - 1) // a.batch
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, epochs=a.epochs,
                                                steps_per_epoch=steps_per_epoch)
    gen = torch.Generator().manual_seed(a.seed)
    t0 = time.time()
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = xtr[idx], ytr[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    t_torch = time.time() - t0
    acc_torch = tfr.evaluate(model, xte, yte)

    # quantc, the same recipe through `quantc finetune`.
    out = os.path.join(a.out, "quantc.onnx")
    t0 = time.time()
    ft = run([a.quantc, "finetune", init_onnx, "--data",
              f"{a.out}/x.npy,{a.out}/y.npy", "--epochs", str(a.epochs), "--batch", str(a.batch),
              "--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--weight-decay", "5e-4",
              "--schedule", "onecycle", "--lr", str(a.lr), "--augment", "--seed", str(a.seed),
              "--mean", str(tfr.MEAN), "--std", str(tfr.STD), "--threads", str(a.threads),
              "--no-progress", "--log", os.path.join(a.out, "quantc.csv"), "-o", out])
    t_quantc = time.time() - t0
    ev = run([a.quantc, "eval", out, "--data", "fashion-mnist", "--mean", str(tfr.MEAN),
              "--std", str(tfr.STD), "--threads", str(a.threads), "--no-progress"])
    acc_quantc = float(re.search(r"top-1: ([0-9.]+)%", ev).group(1)) / 100
    ips = float(re.search(r"([0-9.]+) images/s", ft).group(1))
    full_h = 4 * 60000 / ips / 3600
    res = {"epochs": a.epochs, "train_images": n, "batch": a.batch, "peak_lr": a.lr,
           "threads": a.threads, "seed": a.seed, "pytorch_top1": acc_torch,
           "quantc_top1": acc_quantc, "difference_points": 100 * (acc_quantc - acc_torch),
           "pytorch_seconds": round(t_torch, 1), "quantc_seconds": round(t_quantc, 1),
           "quantc_images_per_s": ips, "full_run_hours_estimate": round(full_h, 2),
           "torch": torch.__version__}
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(f"from scratch, {a.epochs} epoch(s) x {n} images, batch {a.batch}, one-cycle peak "
          f"{a.lr}, {a.threads} threads")
    print(f"PyTorch {torch.__version__}: test top-1 {100 * acc_torch:.2f}%  ({t_torch:.0f} s)")
    print(f"quantc finetune: test top-1 {100 * acc_quantc:.2f}%  ({t_quantc:.0f} s, {ips:.1f} img/s)")
    print(f"difference: {100 * (acc_quantc - acc_torch):+.2f} points; the full run (4 x 60,000) "
          f"would take quantc about {full_h:.1f} h at this speed")


if __name__ == "__main__":
    main()
