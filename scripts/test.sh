#!/usr/bin/env bash
# The whole test suite: install, build with warnings as errors, run every CUnit test (unit,
# conformance, real models, CLI and the malformed-input corpus), then the corpus and unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer (all but the whole-model and ONNX
# Runtime tests, which run 10,000-image evaluations), then the importer fuzzer for 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

echo "== tests"
(cd build && ctest --output-on-failure --timeout 1500)

echo "== tests under ASan + UBSan"
cmake -S . -B build-asan -DQC_WERROR=ON -DQC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
(cd build-asan && ctest --output-on-failure --timeout 1500 -E '^(models|ort)/')

echo "== fuzzing the ONNX importer for ${QC_FUZZ_SECONDS:-60} s"
tests/fuzz/run.sh "${QC_FUZZ_SECONDS:-60}"
