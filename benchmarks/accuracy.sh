#!/usr/bin/env bash
# Post-training quantization accuracy table (fp32 / W8A8 / W4A8 / W4A4 on the example model and
# a wider one trained once and cached, ResNet-18/50 W8A8 relative error). Builds first unless
# --no-build; other arguments go to benchmarks/accuracy.py (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--no-build" ]]; then shift; else scripts/build.sh; fi
exec /usr/bin/python3 benchmarks/accuracy.py "$@"
