#!/usr/bin/env bash
# quantc's compiled ResNet-18/50 (fp32 and W8A8) against ONNX Runtime 1.30 (fp32 and int8 QDQ),
# batch 1, 1 and 2 threads, with the host's peak MAC rate (benchmarks/peak.c). One run, about
# 5-15 minutes on 2 cores. Results: the table on stdout, BUILD/codegen-bench/results.{md,json},
# per-layer tables of `quantc bench` in BUILD/codegen-bench/*.bench-t*.txt.
#
#   benchmarks/codegen_bench.sh [--no-build] [options of benchmarks/codegen_bench.py]
#   BUILD: $QC_BUILD or build. Options: --models, --threads 1,2, --iters 20,10, --no-quantc, ...
set -euo pipefail
cd "$(dirname "$0")/.."
build=${QC_BUILD:-build}
if [[ "${1:-}" == "--no-build" ]]; then
  shift
else
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j2 --target quantc
fi
scripts/install-ort.sh >&2
exec /usr/bin/python3 benchmarks/codegen_bench.py --quantc "$build/tools/quantc" \
  --work "$build/codegen-bench" "$@"
