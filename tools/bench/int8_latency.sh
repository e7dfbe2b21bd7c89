#!/usr/bin/env bash
# Benchmark: ONNX Runtime latency of pq's INT8 static models vs their FP32
# originals (1 thread, batch 1 unless BATCH is set, same input; both models in one
# process, runs alternating, see ort_compare.js). Prints median ms per inference
# for FP32 and INT8 and the speed-up FP32/INT8 (> 1: INT8 faster)
# for the sample CNN and ViT, the MobileNetV3-style classifier (models/fashion_mnv3,
# issue 16's item 5), a 224x224 conv model and narrow_cnn, for each INT8
# variant: int8-sym, int8-asym (weights with zero point 0, the default),
# int8-asym --asymmetric-weights (weights with zero points).
# narrow_cnn has the sample CNN's layout at 16/32 channels and a 64-unit Gemm (random
# weights): the width where ONNX Runtime's integer convolutions lose to its float
# ones; for it the script also prints the Gemm-only variant (--op-types Gemm).
# Run after tools/test.sh (or tools/quickstart.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

batch=${BATCH:-1}
bench_dir="$PQ_BUILD_DIR/bench/int8_latency"
mkdir -p "$bench_dir"
ensure_npm_packages
[ -f "$bench_dir/conv224.onnx" ] || /usr/bin/python3 "$PQ_ROOT/tools/bench/make_conv_model.py" "$bench_dir/conv224.onnx"
[ -f "$bench_dir/narrow_cnn.onnx" ] ||
  /usr/bin/python3 "$PQ_ROOT/tools/bench/make_small_cnn.py" "$bench_dir/narrow_cnn.onnx" 16 32 64
[ -f "$bench_dir/conv224_calib.npy" ] || /usr/bin/python3 -c "
import numpy as np, sys
np.save(sys.argv[1], np.random.default_rng(11).uniform(-1, 1, (16, 3, 224, 224)).astype(np.float32))
" "$bench_dir/conv224_calib.npy"

compare() {  # FP32_MODEL INT8_MODEL ITERS -> "fp32_ms int8_ms speedup" (medians, one process)
  node "$PQ_ROOT/tools/bench/ort_compare.js" "$1" "$2" 1 "$3" $(( $3 / 10 + 2 )) "$batch" |
    /usr/bin/python3 -c 'import json, sys; r = json.load(sys.stdin)
print(r["reference_ms"]["ms_median"], r["candidate_ms"]["ms_median"], r["speedup"])'
}

printf '%-12s %-47s %10s %10s %9s\n' model variant fp32_ms int8_ms speedup
for entry in "fashion_cnn:$PQ_ROOT/models/fashion_cnn.onnx:$PQ_ROOT/models/calib_images.npy:3000" \
             "fashion_vit:$PQ_ROOT/models/fashion_vit.onnx:$PQ_ROOT/models/calib_images.npy:3000" \
             "fashion_mnv3:$PQ_ROOT/models/fashion_mnv3/fashion_mnv3.onnx:$PQ_ROOT/models/calib_images.npy:3000" \
             "conv224:$bench_dir/conv224.onnx:$bench_dir/conv224_calib.npy:60" \
             "narrow_cnn:$bench_dir/narrow_cnn.onnx:$PQ_ROOT/models/calib_images.npy:3000"; do
  IFS=: read -r name model calib iters <<<"$entry"
  variants=("int8-sym" "int8-asym" "int8-asym --asymmetric-weights")
  [ "$name" = narrow_cnn ] && variants+=("int8-asym --op-types Gemm")
  for variant in "${variants[@]}"; do
    out="$bench_dir/${name}_${variant// /_}.onnx"
    # shellcheck disable=SC2086
    "$PQ_BUILD_DIR/pq" --quiet quantize "$model" -o "$out" --scheme $variant --calib "$calib" --force >/dev/null
    read -r fp32 int8 speedup < <(compare "$model" "$out" "$iters")
    printf '%-12s %-47s %10.4f %10.4f %9.2f\n' "$name" "$variant" "$fp32" "$int8" "$speedup"
  done
done
