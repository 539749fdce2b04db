#!/usr/bin/env bash
# Installs every Debian package quantc needs to build, test and run its examples.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang-14 llvm-14-dev libclang-rt-14-dev
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev zlib1g-dev libcunit1-dev
  libonnx-testdata dataset-fashion-mnist
  python3-numpy python3-torch python3-torchvision python3-onnx
  libjpeg-dev libpng-dev python3-pil
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
)
# node + npm for the ONNX Runtime cross-check (scripts/install-ort.sh); left out when a node
# from elsewhere (NodeSource's package bundles npm) is already on PATH.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "install-deps: all ${#pkgs[@]} packages present"; exit 0; }

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
