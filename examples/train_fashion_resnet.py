#!/usr/bin/python3
"""Train the small Fashion-MNIST ResNet that quantc's examples and quantizer tests start from.

Reads the IDX gz files of Debian's dataset-fashion-mnist package, trains a CIFAR-style ResNet
(3 stages of basic blocks, widths 16/32/64) on 2 CPU threads, and writes next to this script:
  fashion_resnet.onnx  opset 13, input "input" [N,1,28,28] already normalized, output "logits" [N,10]
  fashion_resnet.pt    the PyTorch state dict (tests/models/export_example_ref.py rebuilds the model)
  fashion_resnet.json  accuracy, normalization, hyper-parameters, torch version

Input convention: x = (pixel / 255 - MEAN) / STD, pixel in 0..255, one channel, 28x28.
BatchNormalization nodes are kept in the ONNX graph (not folded by the exporter) so that quantc's
own BN-folding pass has something to do.

Usage: /usr/bin/python3 examples/train_fashion_resnet.py [--epochs N] [--out DIR] [--data DIR]
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = 0.2860  # mean of the 60000 training images, pixel / 255
STD = 0.3530   # their standard deviation
SEED = 20240611
DATA_DIR = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    """Parses one gzip-compressed IDX file (big-endian header: 0,0,type,ndim, then ndim u32 dims)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: element type 0x{raw[2]:02x}, expected 0x08 (u8)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) - off != count:
        raise ValueError(f"{path}: {len(raw) - off} data bytes, header says {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=off).reshape(dims)


def load_split(data_dir, split):
    """Returns (images float32 [n,1,28,28] normalized, labels int64 [n])."""
    prefix = "train" if split == "train" else "t10k"
    img = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    lab = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = (img.astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(lab.astype(np.int64))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN pairs; 1x1 conv-BN shortcut when the shape changes (He et al. 2016)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class FashionResNet(nn.Module):
    """28x28 -> stem 3x3 (16) -> stage 16 @28 -> stage 32 @14 -> stage 64 @7 -> GAP -> FC 10."""

    def __init__(self, widths=(16, 32, 64), blocks=(1, 1, 1), num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, cin = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            stage = []
            for j in range(n):
                stage.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    # PRESERVE on an eval-mode model keeps BatchNormalization nodes (EVAL would fold them).
    torch.onnx.export(model, dummy, path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1, help="peak learning rate (one-cycle)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--data", default=DATA_DIR)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--limit", type=int, default=0, help="use only this many training images")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    xtr, ytr = load_split(args.data, "train")
    xte, yte = load_split(args.data, "test")
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]

    model = FashionResNet()
    params = sum(p.numel() for p in model.parameters())
    steps_per_epoch = (len(xtr) + args.batch - 1) // args.batch
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch)
    gen = torch.Generator().manual_seed(args.seed)
    print(f"FashionResNet: {params} parameters, {len(xtr)} training images, "
          f"{args.epochs} epochs x {steps_per_epoch} steps, torch {torch.__version__}", flush=True)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total, nb = 0.0, 0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            # Random horizontal flip: a garment mirrored is still the same class.
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            nb += 1
            if nb % 100 == 0:
                print(f"  epoch {epoch + 1} step {nb}/{steps_per_epoch} loss {total / nb:.4f} "
                      f"({time.time() - t0:.0f} s)", flush=True)
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}: train loss {total / nb:.4f}, test top-1 {acc:.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0

    acc = evaluate(model, xte, yte)
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "fashion_resnet.onnx")
    pt_path = os.path.join(args.out, "fashion_resnet.pt")
    torch.save(model.state_dict(), pt_path)
    export_onnx(model, onnx_path)

    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    with open(onnx_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    info = {
        "fp32_top1": round(acc, 4),
        "mean": MEAN,
        "std": STD,
        "input": "x = (pixel/255 - mean)/std, shape [N,1,28,28], float32",
        "epochs": args.epochs,
        "batch": args.batch,
        "peak_lr": args.lr,
        "optimizer": "SGD nesterov momentum 0.9, wd 5e-4, one-cycle",
        "augmentation": "random horizontal flip",
        "seed": args.seed,
        "params": params,
        "widths": [16, 32, 64],
        "blocks_per_stage": [1, 1, 1],
        "train_seconds": round(train_s, 1),
        "threads": args.threads,
        "torch": torch.__version__,
        "onnx_opset": 13,
        "onnx_bytes": os.path.getsize(onnx_path),
        "onnx_sha256": digest,
    }
    with open(os.path.join(args.out, "fashion_resnet.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
