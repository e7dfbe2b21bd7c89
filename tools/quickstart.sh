#!/usr/bin/env bash
# README command 1: install what is missing, build pq (Release), and run the
# main job on a shipped sample model. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ensure_packages "${PQ_PACKAGES[@]}"
build_pq
model="$PQ_ROOT/models/fashion_cnn.onnx"
say "running: pq inspect $model"
"$PQ_BUILD_DIR/pq" inspect "$model"
say "pq is at $PQ_BUILD_DIR/pq (try: $PQ_BUILD_DIR/pq --help)"
