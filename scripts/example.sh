#!/usr/bin/env bash
# The main job on the bundled example model: install, build, inspect the model, run it on one
# image and report its Fashion-MNIST top-1 accuracy.
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
build/tools/quantc eval "$model" --data fashion-mnist --mean "$mean" --std "$std"
