#!/usr/bin/env bash
# Benchmark: pq's executor vs ONNX Runtime on the same model, same input, same
# thread count (1 and all cores). Prints ms per inference and the ratio
# pq/ORT (target: <= 2). Run after tools/test.sh (or tools/quickstart.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_dir="$PQ_BUILD_DIR/bench"
mkdir -p "$bench_dir"
ensure_npm_packages
[ -f "$bench_dir/conv224.onnx" ] || /usr/bin/python3 "$PQ_ROOT/tools/bench/make_conv_model.py" "$bench_dir/conv224.onnx"
cores=$(nproc)
printf '%-16s %7s %12s %12s %8s\n' model threads pq_ms ort_ms ratio
for model in "$PQ_ROOT/models/fashion_cnn.onnx" "$PQ_ROOT/models/fashion_vit.onnx" "$bench_dir/conv224.onnx"; do
  for threads in 1 "$cores"; do
    iters=200; case "$model" in *conv224*) iters=20;; esac
    pq=$("$PQ_BUILD_DIR/tools/bench/pq_bench_executor" "$model" --threads "$threads" --iters "$iters" --warmup 5)
    ort=$(node "$PQ_ROOT/tools/bench/ort_bench.js" "$model" "$threads" "$iters" 5)
    /usr/bin/python3 - "$pq" "$ort" "$threads" "$(basename "$model" .onnx)" <<'PY'
import json, sys
pq, ort = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{sys.argv[4]:<16} {sys.argv[3]:>7} {pq['ms_median']:12.3f} {ort['ms_median']:12.3f} {pq['ms_median'] / ort['ms_median']:8.2f}")
PY
  done
done
