#!/usr/bin/env bash
# README command 1: install what is missing, build pq (Release), and run the
# main job on a shipped sample model. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ensure_packages "${PQ_PACKAGES[@]}"
build_pq
model="$PQ_ROOT/models/fashion_cnn.onnx"
out_dir="$PQ_BUILD_DIR/quickstart"
mkdir -p "$out_dir"
say "running: pq quantize $model -o $out_dir/fashion_cnn.int8.onnx --scheme int8-asym --calib models/calib_images.npy"
"$PQ_BUILD_DIR/pq" quantize "$model" -o "$out_dir/fashion_cnn.int8.onnx" --scheme int8-asym \
  --calib "$PQ_ROOT/models/calib_images.npy" --force
say "pq is at $PQ_BUILD_DIR/pq (try: $PQ_BUILD_DIR/pq --help)"
