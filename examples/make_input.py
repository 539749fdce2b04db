#!/usr/bin/python3
"""Writes one Fashion-MNIST test image as a normalized 1x1x28x28 float32 NPY file."""
import argparse, gzip, os
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
p.add_argument("--index", type=int, default=0)
p.add_argument("--mean", type=float, default=0.0)
p.add_argument("--std", type=float, default=1.0)
p.add_argument("-o", "--output", required=True)
a = p.parse_args()
path = os.path.join(a.data_dir, "t10k-images-idx3-ubyte.gz")
with gzip.open(path, "rb") as f:
    raw = f.read()
n = int.from_bytes(raw[4:8], "big")
if not 0 <= a.index < n:
    raise SystemExit(f"make_input: index {a.index} outside 0..{n - 1}")
img = np.frombuffer(raw, np.uint8, 28 * 28, 16 + a.index * 28 * 28).astype(np.float32) / 255.0
x = ((img - a.mean) / a.std).reshape(1, 1, 28, 28).astype(np.float32)
np.save(a.output, x)
