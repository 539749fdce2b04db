#!/usr/bin/env bash
# Builds the ONNX-importer fuzzer with clang (libFuzzer + ASan + UBSan) in build-fuzz/ and runs it
# for N seconds (default 60), seeded with the malformed-input corpus and a few valid models.
# Fails (non-zero exit) on any crash, sanitizer report, leak or timeout; the reproducer is left
# in build-fuzz/fuzz-artifacts/.   usage: tests/fuzz/run.sh [SECONDS] [TARGET]
# TARGET: onnx_import (default) or npy (the NPY reader).
# QC_FUZZ_SEED and QC_FUZZ_RUNS make a run reproducible: the same seed, the same number of
# inputs and a fresh corpus folder give the same inputs on any machine (CI uses them, so that
# a pass here is a pass there; long exploratory runs leave them unset).
set -euo pipefail
secs=${1:-60}
target=fuzz_${2:-onnx_import}
root=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${QC_FUZZ_BUILD:-$root/build-fuzz}
cc=${QC_FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "run.sh: $cc not found (install clang-14)" >&2; exit 1; }

CC=$cc cmake -S "$root" -B "$bdir" -DQC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$bdir" -j"${QC_JOBS:-$(nproc)}" --target "$target"

work=$bdir/corpus-$target
art=$bdir/fuzz-artifacts
mkdir -p "$work" "$art"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The first folder collects new inputs; the others are read-only seeds.
dict=()
[ "$target" = fuzz_onnx_import ] && dict=(-dict="$root/tests/fuzz/onnx.dict")
repro=()
if [ -n "${QC_FUZZ_SEED:-}" ]; then
  rm -rf "$work" && mkdir -p "$work"
  repro=(-seed="$QC_FUZZ_SEED")
  [ -n "${QC_FUZZ_RUNS:-}" ] && repro+=(-runs="$QC_FUZZ_RUNS")
fi
"$bdir/tests/fuzz/$target" \
  -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  "${dict[@]}" "${repro[@]}" -artifact_prefix="$art/" -print_final_stats=1 \
  "$work" "$root/tests/fuzz/seeds" "$root/tests/corpus/files"
echo "run.sh: $target, no crash (at most $secs s${QC_FUZZ_SEED:+, seed $QC_FUZZ_SEED})"
