#!/usr/bin/python3
"""Reference outputs of the example Fashion-MNIST ResNet, computed by PyTorch.

Rebuilds the model from examples/train_fashion_resnet.py and examples/fashion_resnet.pt, takes the
first COUNT test images (normalized as the JSON says) and writes OUT/{input.npy, output.npy,
labels.npy, stamp}: input float32 [COUNT,1,28,28], output float32 logits [COUNT,10], labels int64.
Also checks that examples/fashion_resnet.onnx is the file the JSON describes (sha256), so the
ONNX model quantc loads and the weights PyTorch runs here cannot drift apart silently.

Usage: export_example_ref.py OUT [COUNT]   (COUNT defaults to 100)
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, EXAMPLES)
import train_fashion_resnet as tfr  # noqa: E402


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    onnx_path = os.path.join(EXAMPLES, "fashion_resnet.onnx")
    pt_path = os.path.join(EXAMPLES, "fashion_resnet.pt")
    with open(os.path.join(EXAMPLES, "fashion_resnet.json")) as f:
        info = json.load(f)
    if sha256(onnx_path) != info["onnx_sha256"]:
        print(f"{onnx_path} does not match fashion_resnet.json (onnx_sha256)", file=sys.stderr)
        return 1

    stamp = (f"script {sha256(os.path.abspath(__file__))}\ntrain {sha256(tfr.__file__)}\n"
             f"pt {sha256(pt_path)}\nonnx {info['onnx_sha256']}\ncount {count}\n"
             f"torch {torch.__version__}\n")
    stamp_path = os.path.join(out, "stamp")
    files = ["input.npy", "output.npy", "labels.npy"]
    if os.path.exists(stamp_path) and all(os.path.exists(os.path.join(out, f)) for f in files):
        with open(stamp_path) as f:
            if f.read() == stamp:
                print("example reference: up to date")
                return 0
    os.makedirs(out, exist_ok=True)
    if os.path.exists(stamp_path):
        os.remove(stamp_path)

    torch.set_num_threads(2)
    if tfr.MEAN != info["mean"] or tfr.STD != info["std"]:
        print("normalization in train_fashion_resnet.py differs from the JSON", file=sys.stderr)
        return 1
    x, y = tfr.load_split(tfr.DATA_DIR, "test")
    x, y = x[:count].contiguous(), y[:count]
    model = tfr.FashionResNet()
    model.load_state_dict(torch.load(pt_path))
    model.eval()
    with torch.no_grad():
        logits = model(x)
    acc = (logits.argmax(1) == y).float().mean().item()
    np.save(os.path.join(out, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "output.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(out, "labels.npy"), y.numpy().astype(np.int64))
    with open(stamp_path, "w") as f:
        f.write(stamp)
    print(f"example reference: {count} images, PyTorch top-1 on them {acc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
