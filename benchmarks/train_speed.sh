#!/bin/sh
# Training images/s on the example model, quantc vs PyTorch (same threads and batch), and the
# ratio. Usage: benchmarks/train_speed.sh [--quantc PATH] [--threads T] [--batch B] [--steps S]
set -e
exec /usr/bin/python3 "$(dirname "$0")/train_speed.py" "$@"
