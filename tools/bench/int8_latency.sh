#!/usr/bin/env bash
# Benchmark: ONNX Runtime latency of pq's INT8 static models vs their FP32
# originals (1 thread, batch 1 unless BATCH is set, same input). Prints ms per
# inference for FP32 and INT8 and the speed-up FP32/INT8 (> 1: INT8 faster)
# for the sample CNN and ViT and a 224x224 conv model, for each INT8 variant:
# int8-sym, int8-asym, int8-asym --symmetric-weights.
# Run after tools/test.sh (or tools/quickstart.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

batch=${BATCH:-1}
bench_dir="$PQ_BUILD_DIR/bench/int8_latency"
mkdir -p "$bench_dir"
ensure_npm_packages
[ -f "$bench_dir/conv224.onnx" ] || /usr/bin/python3 "$PQ_ROOT/tools/bench/make_conv_model.py" "$bench_dir/conv224.onnx"
[ -f "$bench_dir/conv224_calib.npy" ] || /usr/bin/python3 -c "
import numpy as np, sys
np.save(sys.argv[1], np.random.default_rng(11).uniform(-1, 1, (16, 3, 224, 224)).astype(np.float32))
" "$bench_dir/conv224_calib.npy"

ms() {  # MODEL ITERS -> median ms per inference in ONNX Runtime
  node "$PQ_ROOT/tools/bench/ort_bench.js" "$1" 1 "$2" $(( $2 / 10 + 2 )) "$batch" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["ms_median"])'
}

printf '%-12s %-32s %10s %10s %9s\n' model variant fp32_ms int8_ms speedup
for entry in "fashion_cnn:$PQ_ROOT/models/fashion_cnn.onnx:$PQ_ROOT/models/calib_images.npy:3000" \
             "fashion_vit:$PQ_ROOT/models/fashion_vit.onnx:$PQ_ROOT/models/calib_images.npy:3000" \
             "conv224:$bench_dir/conv224.onnx:$bench_dir/conv224_calib.npy:60"; do
  IFS=: read -r name model calib iters <<<"$entry"
  fp32=$(ms "$model" "$iters")
  for variant in "int8-sym" "int8-asym" "int8-asym --symmetric-weights"; do
    out="$bench_dir/${name}_${variant// /_}.onnx"
    # shellcheck disable=SC2086
    "$PQ_BUILD_DIR/pq" --quiet quantize "$model" -o "$out" --scheme $variant --calib "$calib" --force >/dev/null
    int8=$(ms "$out" "$iters")
    /usr/bin/python3 -c 'import sys; n, v, f, i = sys.argv[1:]; f, i = float(f), float(i); print(f"{n:<12} {v:<32} {f:10.4f} {i:10.4f} {f / i:9.2f}")' \
      "$name" "$variant" "$fp32" "$int8"
  done
done
