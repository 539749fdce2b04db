#!/usr/bin/python3
"""Post-training quantization accuracy of quantc (no fine-tuning), through the quantc binary.

1. Fashion-MNIST classifiers: the bundled example model (examples/fashion_resnet.onnx, widths
   16/32/64) and a wider one (widths 32/64/128) that benchmarks/train_wide.py trains once and
   caches in BUILD/bench/wide_resnet.onnx. Each is quantized W8A8, W4A8 and W4A4 (first conv and
   last FC at 8 bits, as HAWQ-V3), calibrated on 1024 seeded training images, and its exact
   integer IR (.qc) evaluated on the 10,000 test images. Prints top-1 and the model-size ratio
   (fp32 bytes / quantized bytes, from the JSON report).
2. torchvision ResNet-18 and ResNet-50 (seeded random weights, exported by
   tests/models/export_torchvision.py into BUILD/models-cache): W8A8, calibrated on seeded
   Gaussian noise batches N(0,1) (random weights give no meaning to real images; the noise
   matches the export's own test input distribution), then the relative error
   ||y_int8 - y_fp32|| / ||y_fp32|| of the logits on other seeded noise inputs, and the agreement
   of the arg-max.

A benchmark, not a test: it prints a table and exits 0 unless a command fails.
Usage: benchmarks/accuracy.py [--build build] [--limit N] [--skip-resnet] [--calib-n N]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMES = ["w8a8", "w4a8", "w4a4"]


def sh(cmd, **kw):
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.stderr.write(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
        sys.exit(1)
    return r.stdout, time.time() - t0


def top1(quantc, model, mean, std, limit):
    cmd = [quantc, "eval", model, "--data", "fashion-mnist", "--mean", str(mean), "--std", str(std)]
    if limit:
        cmd += ["--limit", str(limit)]
    out, dt = sh(cmd)
    m = re.search(r"top-1: ([0-9.]+)% \((\d+)/(\d+)\)", out)
    return float(m.group(1)), dt


def fashion(args, quantc, work):
    ex_meta = json.load(open(os.path.join(ROOT, "examples", "fashion_resnet.json")))
    bench = os.path.join(args.build, "bench")
    wide = os.path.join(bench, "wide_resnet.onnx")
    if not os.path.exists(wide):
        print(f"training the wide model into {bench} (once; cached)", flush=True)
        sh(["/usr/bin/python3", os.path.join(ROOT, "benchmarks", "train_wide.py"), "--out", bench])
    wide_meta = json.load(open(os.path.join(bench, "wide_resnet.json")))
    models = [("example 16/32/64", os.path.join(ROOT, "examples", "fashion_resnet.onnx"), ex_meta),
              ("wide 32/64/128", wide, wide_meta)]
    rows = []
    for name, path, meta in models:
        mean, std = meta["mean"], meta["std"]
        fp, dt = top1(quantc, path, mean, std, args.limit)
        print(f"{name}: fp32 {fp:.2f}% ({dt:.0f} s)", flush=True)
        row = {"model": name, "fp32": fp, "torch_fp32": 100 * meta["fp32_top1"]}
        for s in SCHEMES:
            base = os.path.join(work, f"{os.path.basename(path)[:-5]}_{s}")
            sh([quantc, "quantize", path, "--scheme", s, "--calib", "fashion-mnist",
                "--calib-n", str(args.calib_n), "--mean", str(mean), "--std", str(std),
                "-o", base + ".onnx", "--ir", base + ".qc"])
            rep = json.load(open(base + ".json"))["totals"]
            acc, dt = top1(quantc, base + ".qc", mean, std, args.limit)
            print(f"{name}: {s} {acc:.2f}% ratio {rep['compression_ratio']:.2f}x ({dt:.0f} s)",
                  flush=True)
            row[s] = (acc, rep["compression_ratio"], rep["gbops"], rep["fp32_gbops"])
        rows.append(row)
    n = args.limit if args.limit else 10000
    print(f"\nFashion-MNIST top-1 on {n} test images, post-training, calibrated on "
          f"{args.calib_n} training images (percentile 99.99); ratio = fp32 bytes / quantized "
          f"bytes; first conv and last FC 8-bit")
    print(f"| model | fp32 | W8A8 | W4A8 | W4A4 | W8A8 - fp32 |")
    print(f"|---|---|---|---|---|---|")
    for r in rows:
        cells = " | ".join(f"{r[s][0]:.2f}% ({r[s][1]:.2f}x)" for s in SCHEMES)
        print(f"| {r['model']} | {r['fp32']:.2f}% | {cells} | {r['w8a8'][0] - r['fp32']:+.2f} |")
    return rows


def resnets(args, quantc, work):
    cache = os.path.join(args.build, "models-cache")
    names = ["resnet18", "resnet50"]
    sh(["/usr/bin/python3", os.path.join(ROOT, "tests", "models", "export_torchvision.py"), cache]
       + names)
    # The exported models have a fixed batch of 1: one image per NPY file.
    rng = np.random.default_rng(20261129)
    calib = os.path.join(work, "noise_calib")
    os.makedirs(calib, exist_ok=True)
    for i in range(args.resnet_calib):
        np.save(os.path.join(calib, f"c{i:03d}.npy"),
                rng.standard_normal((1, 3, 224, 224)).astype(np.float32))
    xs = []
    for i in range(args.resnet_inputs):
        xs.append(os.path.join(work, f"noise_input{i}.npy"))
        np.save(xs[-1], rng.standard_normal((1, 3, 224, 224)).astype(np.float32))
    rows = []
    for name in names:
        model = os.path.join(cache, name, "model.onnx")
        base = os.path.join(work, f"{name}_w8a8")
        _, tq = sh([quantc, "quantize", model, "--scheme", "w8a8", "--calib", calib,
                    "-o", base + ".onnx", "--ir", base + ".qc"])
        rep = json.load(open(base + ".json"))["totals"]
        rel, rel_qdq, agree, tr = [], [], 0, 0.0
        for i, x in enumerate(xs):
            ys = []
            for k, m in (("fp32", model), ("int8", base + ".qc"), ("qdq", base + ".onnx")):
                y = os.path.join(work, f"{name}_{k}_{i}.npy")
                _, dt = sh([quantc, "run", m, "--input", x, "--output", y])
                tr += dt if k == "int8" else 0
                ys.append(np.load(y).ravel())
            a, b, c = ys
            rel.append(float(np.linalg.norm(b - a) / np.linalg.norm(a)))
            rel_qdq.append(float(np.linalg.norm(c - a) / np.linalg.norm(a)))
            agree += int(a.argmax() == b.argmax())
        n = len(xs)
        rows.append((name, rel, rel_qdq, agree, n, rep["compression_ratio"]))
        print(f"{name}: W8A8 rel. error mean {np.mean(rel):.4f} max {max(rel):.4f}, "
              f"top-1 agreement {agree}/{n} (quantize {tq:.0f} s, int8 run {tr / n:.1f} s/image)",
              flush=True)
    print(f"\ntorchvision (seeded random weights, BN with random statistics), W8A8 calibrated on "
          f"{args.resnet_calib} seeded N(0,1) noise images; relative error "
          f"||y_int8 - y_fp32|| / ||y_fp32|| of the 1000 logits on {args.resnet_inputs} other "
          f"N(0,1) inputs")
    print("| model | rel. error (int IR) mean / max | rel. error (QDQ ONNX) mean | "
          "arg-max agreement | size ratio |")
    print("|---|---|---|---|---|")
    for name, rel, rel_qdq, agree, n, ratio in rows:
        print(f"| {name} | {np.mean(rel):.4f} / {max(rel):.4f} | {np.mean(rel_qdq):.4f} | "
              f"{agree}/{n} | {ratio:.2f}x |")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--limit", type=int, default=0, help="test images (default: all 10,000)")
    ap.add_argument("--calib-n", type=int, default=1024)
    ap.add_argument("--skip-fashion", action="store_true")
    ap.add_argument("--skip-resnet", action="store_true")
    ap.add_argument("--resnet-inputs", type=int, default=4)
    ap.add_argument("--resnet-calib", type=int, default=8, help="noise images for calibration")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    quantc = os.path.join(args.build, "tools", "quantc")
    if not os.access(quantc, os.X_OK):
        sys.exit(f"{quantc} not found: build first (scripts/build.sh)")
    work = os.path.join(args.build, "bench", "accuracy")
    os.makedirs(work, exist_ok=True)
    if not args.skip_fashion:
        fashion(args, quantc, work)
    if not args.skip_resnet:
        resnets(args, quantc, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
