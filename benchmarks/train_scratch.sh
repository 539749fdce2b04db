#!/bin/sh
# Training from scratch in quantc vs PyTorch (same init, recipe, images); see train_scratch.py.
# Usage: benchmarks/train_scratch.sh [--quantc PATH] [--epochs E] [--subset N] [--threads T]
set -e
exec /usr/bin/python3 "$(dirname "$0")/train_scratch.py" "$@"
