#!/usr/bin/python3
"""Trains the second, wider Fashion-MNIST ResNet for benchmarks/accuracy.sh.

Same architecture, data, normalization and recipe as examples/train_fashion_resnet.py (imported
from there), but widths 32/64/128 (about 4x the MACs and parameters of the example model) and
one epoch by default so that it finishes in a few minutes on 2 CPU threads. Writes
OUT/wide_resnet.onnx (opset 13, BatchNormalization kept, input "input" [N,1,28,28], output
"logits") and OUT/wide_resnet.json (PyTorch's fp32 top-1, normalization, timings).

Usage: /usr/bin/python3 benchmarks/train_wide.py --out build/bench [--epochs N] [--threads N]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import train_fashion_resnet as base  # noqa: E402

WIDTHS = (32, 64, 128)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=base.SEED + 1)
    ap.add_argument("--data", default=base.DATA_DIR)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    base.seed_everything(args.seed)
    xtr, ytr = base.load_split(args.data, "train")
    xte, yte = base.load_split(args.data, "test")
    model = base.FashionResNet(widths=WIDTHS)
    params = sum(p.numel() for p in model.parameters())
    steps = (len(xtr) + args.batch - 1) // args.batch
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps)
    gen = torch.Generator().manual_seed(args.seed)
    print(f"wide FashionResNet {WIDTHS}: {params} parameters, {args.epochs} epochs x {steps} steps",
          flush=True)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for k, i in enumerate(range(0, len(xtr), args.batch)):
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if (k + 1) % 100 == 0:
                print(f"  epoch {epoch + 1} step {k + 1}/{steps} loss {loss.item():.4f} "
                      f"({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0
    acc = base.evaluate(model, xte, yte)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "wide_resnet.onnx")
    tmp = path + ".tmp"
    base.export_onnx(model, tmp)
    os.replace(tmp, path)  # a cached model is always complete
    info = {"fp32_top1": round(acc, 4), "mean": base.MEAN, "std": base.STD, "widths": list(WIDTHS),
            "epochs": args.epochs, "seed": args.seed, "params": params,
            "train_seconds": round(train_s, 1), "threads": args.threads}
    with open(os.path.join(args.out, "wide_resnet.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
