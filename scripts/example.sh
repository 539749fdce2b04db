#!/usr/bin/env bash
# The main job on the bundled example model: install, build, inspect the model, run it on one
# image, report its Fashion-MNIST top-1 accuracy, then quantize it to W8A8 (integer-only,
# calibrated on 1024 training images), compare accuracy and size of fp32 and int8, and finally
# compile the int8 model to native code, verify it bit for bit against the interpreter and
# benchmark it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
model=examples/fashion_resnet.onnx
meta=examples/fashion_resnet.json
mean=$(/usr/bin/python3 -c "import json;print(json.load(open('$meta'))['mean'])")
std=$(/usr/bin/python3 -c "import json;print(json.load(open('$meta'))['std'])")
ref=$(/usr/bin/python3 -c "import json;print('%.2f' % (100*json.load(open('$meta'))['fp32_top1']))")

echo "== quantc inspect $model"
build/tools/quantc inspect "$model"

echo "== quantc run (one test image)"
mkdir -p out
/usr/bin/python3 examples/make_input.py --mean "$mean" --std "$std" --index 0 -o out/image0.npy
build/tools/quantc run "$model" --input out/image0.npy --output out/logits0.npy
/usr/bin/python3 -c "import numpy as n; y=n.load('out/logits0.npy'); print('logits', n.round(y,3).tolist(), 'class', int(y.argmax()))"

echo "== quantc eval on the 10,000 Fashion-MNIST test images (PyTorch fp32: $ref%)"
build/tools/quantc eval "$model" --data fashion-mnist --mean "$mean" --std "$std" | tee out/eval_fp32.txt

echo "== quantc quantize W8A8, calibrated on 1024 Fashion-MNIST training images"
build/tools/quantc quantize "$model" --scheme w8a8 --calib fashion-mnist --calib-n 1024 \
  --mean "$mean" --std "$std" -o out/fashion_resnet_w8a8.onnx --ir out/fashion_resnet_w8a8.qc

echo "== quantc eval of the integer-only model (exact integer arithmetic, out/fashion_resnet_w8a8.qc)"
build/tools/quantc eval out/fashion_resnet_w8a8.qc --data fashion-mnist --mean "$mean" --std "$std" \
  | tee out/eval_w8a8.txt

echo "== fp32 vs int8"
/usr/bin/python3 - <<'PY'
import json, re, sys
def top1(path):
    return float(re.search(r"top-1: ([0-9.]+)%", open(path).read()).group(1))
r = json.load(open("out/fashion_resnet_w8a8.json"))["totals"]
fp, q = top1("out/eval_fp32.txt"), top1("out/eval_w8a8.txt")
print(f"{'model':<14}{'top-1':>9}{'weight bytes':>14}{'ratio':>8}")
print(f"{'fp32':<14}{fp:>8.2f}%{r['fp32_bytes']:>14}{1:>7.2f}x")
print(f"{'int8 (W8A8)':<14}{q:>8.2f}%{r['quant_bytes']:>14}{r['compression_ratio']:>7.2f}x")
print(f"accuracy change: {q - fp:+.2f} points")
PY

echo "== quantc compile the W8A8 model to native code (LLVM), calibrated as above"
build/tools/quantc compile "$model" --scheme w8a8 --calib fashion-mnist --calib-n 1024 \
  --mean "$mean" --std "$std" -o out/fashion_resnet_w8a8_x86

echo "== quantc verify: every compiled layer against the interpreter, bit for bit (200 test images)"
build/tools/quantc verify out/fashion_resnet_w8a8_x86 --data fashion-mnist -n 200 \
  --mean "$mean" --std "$std"

echo "== quantc eval of the compiled W8A8 model (native code through the runtime)"
build/tools/quantc eval out/fashion_resnet_w8a8_x86 --data fashion-mnist --mean "$mean" --std "$std"

echo "== quantc bench: per-layer timings of the compiled W8A8 model"
build/tools/quantc bench out/fashion_resnet_w8a8_x86 --iters 50
