#!/usr/bin/python3
"""Training throughput on the example model: quantc finetune vs PyTorch, same threads, same batch.

Both train examples/fashion_resnet (BN in training mode, SGD Nesterov momentum 0.9, wd 5e-4,
cross-entropy) on the same fixed Fashion-MNIST images for the same number of steps. quantc's
images/s is the one `quantc finetune` prints (loader, forward, backward, optimizer; no test
pass); PyTorch's covers forward, backward and the optimizer step on pre-normalized tensors, after
one warm-up step. Prints both and the ratio quantc / PyTorch.
Usage: benchmarks/train_speed.py [--quantc PATH] [--threads T] [--batch B] [--steps S]
"""
import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "examples"))
import train_fashion_resnet as tfr  # noqa: E402  (the model's architecture)

DATA = "/usr/share/datasets/fashion-mnist"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quantc", default=os.path.join(ROOT, "build", "tools", "quantc"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=12)
    a = ap.parse_args()
    n = a.batch * a.steps
    img = np.frombuffer(gzip.open(f"{DATA}/train-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
    lab = np.frombuffer(gzip.open(f"{DATA}/train-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    x8 = img[:n * 784].reshape(n, 28, 28)
    y = lab[:n].astype(np.int64)

    with tempfile.TemporaryDirectory() as d:
        np.save(f"{d}/x.npy", x8)
        np.save(f"{d}/y.npy", y)
        cmd = [a.quantc, "finetune", os.path.join(ROOT, "examples", "fashion_resnet.onnx"),
               "--data", f"{d}/x.npy,{d}/y.npy", "--epochs", "1", "--batch", str(a.batch),
               "--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--weight-decay", "5e-4",
               "--lr", "0.01", "--mean", str(tfr.MEAN), "--std", str(tfr.STD),
               "--threads", str(a.threads), "--no-progress", "-o", f"{d}/out.onnx"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"quantc failed: {r.stderr}")
        q_ips = float(re.search(r"([0-9.]+) images/s", r.stdout).group(1))

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = tfr.FashionResNet()
    model.load_state_dict(torch.load(os.path.join(ROOT, "examples", "fashion_resnet.pt")))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    xt = torch.from_numpy(((x8.astype(np.float32) / 255.0 - tfr.MEAN) / tfr.STD)[:, None].copy())
    yt = torch.from_numpy(y)

    def step(i):
        xb, yb = xt[i * a.batch:(i + 1) * a.batch], yt[i * a.batch:(i + 1) * a.batch]
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step(0)  # warm-up
    t0 = time.perf_counter()
    for i in range(a.steps):
        step(i)
    t_ips = n / (time.perf_counter() - t0)
    print(f"threads {a.threads}, batch {a.batch}, {a.steps} steps")
    print(f"quantc  finetune: {q_ips:8.1f} images/s")
    print(f"PyTorch {torch.__version__}: {t_ips:8.1f} images/s")
    print(f"ratio quantc / PyTorch: {q_ips / t_ips:.2f}x")


if __name__ == "__main__":
    main()
