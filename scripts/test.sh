#!/usr/bin/env bash
# The whole test suite: install, build with warnings as errors, run every CUnit test (unit,
# conformance, real models, CLI and the malformed-input corpus), then the corpus and unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer (all but the whole-model, compiled
# ResNet (codegen/test_e2e_*) and ONNX
# Runtime tests, which run 10,000-image evaluations), then a fixed, seeded run of the importer fuzzer.
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
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
(cd build-asan && ctest --output-on-failure --timeout 1500 -E '^(models|ort)/|^codegen/test_e2e')

# A fixed seed and input count, on a fresh corpus, so that CI replays exactly the inputs that
# passed here; exploratory fuzzing (tests/fuzz/run.sh without QC_FUZZ_SEED) is run by hand.
echo "== fuzzing the ONNX importer (seed ${QC_FUZZ_SEED:-1}, ${QC_FUZZ_RUNS:-1000000} inputs)"
QC_FUZZ_SEED=${QC_FUZZ_SEED:-1} QC_FUZZ_RUNS=${QC_FUZZ_RUNS:-1000000} \
  tests/fuzz/run.sh "${QC_FUZZ_SECONDS:-300}"
