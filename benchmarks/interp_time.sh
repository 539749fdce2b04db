#!/bin/sh
# fp32 reference-interpreter time on whole models, batch 1: median of RUNS runs per model.
#
#   benchmarks/interp_time.sh [BUILD_DIR] [MODELS] [RUNS] [THREADS]
#   defaults: build, resnet50, 5, 0 (one thread per CPU)
#   MODELS is a comma list of resnet18,resnet50,mobilenet_v2,squeezenet1_1,densenet121,example
#
# It runs the models test (tests/models/test_torchvision.c), which exports the models with
# PyTorch on first use (cached in BUILD_DIR/models-cache), checks every output against PyTorch
# and prints "interp X s (median of N, ...)" per model.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
models=${2:-resnet50}
runs=${3:-5}
threads=${4:-0}
exe=$build/tests/models_test_torchvision
if [ ! -x "$exe" ]; then
  echo "interp_time.sh: $exe not built (cmake --build $build --target models_test_torchvision)" >&2
  exit 2
fi
QC_MODELS=$models QC_MODEL_RUNS=$runs QC_THREADS=$threads "$exe" | grep -E 'max\|diff\||SKIPPED|FAILED|failed|Error' || true
