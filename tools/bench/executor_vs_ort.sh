#!/usr/bin/env bash
# Benchmark: pq's executor vs ONNX Runtime on the same model, same input, same
# thread count (1 and all cores). Prints ms per inference (median of 3
# alternating rounds) and the ratio pq/ORT (target: <= 2). Run after tools/test.sh (or tools/quickstart.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_dir="$PQ_BUILD_DIR/bench"
mkdir -p "$bench_dir"
ensure_npm_packages
[ -f "$bench_dir/conv224.onnx" ] || /usr/bin/python3 "$PQ_ROOT/tools/bench/make_conv_model.py" "$bench_dir/conv224.onnx"
cores=$(nproc)
rounds=3
printf '%-16s %7s %12s %12s %8s\n' model threads pq_ms ort_ms ratio
for model in "$PQ_ROOT/models/fashion_cnn.onnx" "$PQ_ROOT/models/fashion_vit.onnx" "$bench_dir/conv224.onnx"; do
  for threads in 1 "$cores"; do
    iters=2000; case "$model" in *conv224*) iters=40;; esac
    # pq and ORT alternate for `rounds` rounds; each side's figure is the median
    # of its round medians, so a shared machine's drift hits both alike.
    results=()
    for ((round = 0; round < rounds; ++round)); do
      results+=("$("$PQ_BUILD_DIR/tools/bench/pq_bench_executor" "$model" --threads "$threads" --iters "$iters" --warmup 5)")
      results+=("$(node "$PQ_ROOT/tools/bench/ort_bench.js" "$model" "$threads" "$iters" 5)")
    done
    /usr/bin/python3 - "$threads" "$(basename "$model" .onnx)" "${results[@]}" <<'PY'
import json, statistics, sys
threads, name, runs = sys.argv[1], sys.argv[2], [json.loads(r) for r in sys.argv[3:]]
pq = statistics.median(r["ms_median"] for r in runs[0::2])
ort = statistics.median(r["ms_median"] for r in runs[1::2])
print(f"{name:<16} {threads:>7} {pq:12.3f} {ort:12.3f} {pq / ort:8.2f}")
PY
  done
done
