#!/usr/bin/env bash
# Installs ONNX Runtime for node (npm package onnxruntime-node, pinned) into DIR (default
# build/ort), for the cross-check of exported quantized models (tests/ort/).
# --ignore-scripts: the package's postinstall would download CUDA bits; the linux x64 CPU
# library is already inside the tarball. Idempotent: an installed matching version is kept.
# Installs Debian's nodejs + npm with apt only when node or npm is missing.
# Exit codes: 0 installed (or present), 1 failure.
set -euo pipefail

ORT_VERSION=1.30.0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-$here/../build/ort}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
pkg="$dir/node_modules/onnxruntime-node/package.json"

if [ -f "$pkg" ] && grep -q "\"version\": \"$ORT_VERSION\"" "$pkg"; then
  echo "install-ort: onnxruntime-node $ORT_VERSION present in $dir"
  exit 0
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-ort: installing Debian's nodejs and npm"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi

echo "install-ort: npm install onnxruntime-node@$ORT_VERSION into $dir"
npm install --ignore-scripts --no-audit --no-fund --no-save --prefix "$dir" \
  "onnxruntime-node@$ORT_VERSION"
[ -f "$pkg" ] || { echo "install-ort: $pkg missing after npm install" >&2; exit 1; }
echo "install-ort: done"
