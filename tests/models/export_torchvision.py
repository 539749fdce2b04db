#!/usr/bin/python3
"""Exports torchvision classifiers with seeded random weights as reference cases for quantc.

For each model NAME this writes OUT/NAME/{model.onnx, input.npy, output.npy, stamp}:
  model.onnx  opset 13, eval mode, BatchNormalization nodes kept (not folded by the exporter)
  input.npy   float32 [1,3,224,224], seeded N(0,1)
  output.npy  float32 PyTorch output for that input (the reference quantc must match)
  stamp       hash of this script + torch/torchvision/onnx versions; written last. A folder whose
              stamp matches is skipped, so the ctest can call this script every run.

Weights are torchvision's own initialisation under torch.manual_seed(SEED + index); every
BatchNorm then gets non-trivial statistics and affine parameters, otherwise (mean 0, var 1,
gamma 1, beta 0) a wrong BN kernel would go unnoticed:
  running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5), weight ~ U(0.5, 1.5), bias ~ N(0, 0.1).

Usage: export_torchvision.py OUT [NAME ...]   (default: all of MODELS)
"""
import hashlib
import os
import sys
import tempfile

import numpy as np
import torch
import torchvision

MODELS = ["resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "densenet121"]
SEED = 1234


def stamp_text():
    import onnx
    with open(os.path.abspath(__file__), "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()
    return (f"script {h}\ntorch {torch.__version__}\ntorchvision {torchvision.__version__}\n"
            f"onnx {onnx.__version__}\n")


def build(name, index):
    torch.manual_seed(SEED + index)
    model = getattr(torchvision.models, name)(weights=None)
    g = torch.Generator().manual_seed(SEED + 1000 + index)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
    return model.eval()


def export_one(name, index, out_dir, stamp):
    d = os.path.join(out_dir, name)
    stamp_path = os.path.join(d, "stamp")
    files = ["model.onnx", "input.npy", "output.npy"]
    if os.path.exists(stamp_path) and all(os.path.exists(os.path.join(d, f)) for f in files):
        with open(stamp_path) as f:
            if f.read() == stamp:
                print(f"{name}: up to date")
                return
    os.makedirs(d, exist_ok=True)
    if os.path.exists(stamp_path):
        os.remove(stamp_path)

    model = build(name, index)
    g = torch.Generator().manual_seed(SEED + 2000 + index)
    x = torch.randn(1, 3, 224, 224, generator=g)
    with torch.no_grad():
        y = model(x)

    # Write to temporary names and rename, so an interrupted run never leaves a half file that
    # a later run would take for a finished one.
    tmp = tempfile.mkdtemp(dir=d)
    torch.onnx.export(model, x, os.path.join(tmp, "model.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    np.save(os.path.join(tmp, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(tmp, "output.npy"), y.numpy().astype(np.float32))
    for f in files:
        os.replace(os.path.join(tmp, f), os.path.join(d, f))
    os.rmdir(tmp)
    with open(stamp_path, "w") as f:
        f.write(stamp)
    print(f"{name}: exported, output {tuple(y.shape)}, max|y| {y.abs().max().item():.4g}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    names = sys.argv[2:] or MODELS
    for n in names:
        if n not in MODELS:
            print(f"unknown model '{n}'; known: {' '.join(MODELS)}", file=sys.stderr)
            return 2
    torch.set_num_threads(2)
    stamp = stamp_text()
    for n in names:
        export_one(n, MODELS.index(n), out_dir, stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
