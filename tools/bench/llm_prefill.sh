#!/usr/bin/env bash
# Benchmark: prefill throughput of the sample decoder LLM (models/tiny_llm,
# both layouts) in pq's executor vs ONNX Runtime, 1 thread, one row of the
# held-out tokens. Prints tokens/s of each and pq's share of ORT's throughput
# (target: >= 0.7). Run after tools/test.sh (or tools/quickstart.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

ensure_npm_packages
llm="$PQ_ROOT/models/tiny_llm"
tokens="$llm/heldout_tokens.npy"
rounds=3
iters=${PQ_BENCH_ITERS:-30}
printf '%-28s %8s %12s %12s %10s\n' model tokens pq_tok/s ort_tok/s pq/ort
for model in "$llm"/*.onnx "$PQ_BUILD_DIR"/tiny_llm/*.onnx; do
  [ -f "$model" ] || continue
  results=()
  for ((round = 0; round < rounds; ++round)); do
    results+=("$("$PQ_BUILD_DIR/tools/bench/pq_bench_executor" "$model" --threads 1 --iters "$iters" --warmup 3 --data "$tokens")")
    results+=("$(node "$PQ_ROOT/tools/bench/ort_llm_bench.js" "$model" "$tokens" 1 "$iters" 3)")
  done
  /usr/bin/python3 - "$(basename "$model" .onnx)" "${results[@]}" <<'PY'
import json, statistics, sys
name, runs = sys.argv[1], [json.loads(r) for r in sys.argv[2:]]
tokens = runs[1]["tokens"]
pq = statistics.median(r["ms_median"] for r in runs[0::2])
ort = statistics.median(r["ms_median"] for r in runs[1::2])
print(f"{name:<28} {tokens:>8} {tokens / pq * 1000:12.0f} {tokens / ort * 1000:12.0f} {ort / pq:10.2f}")
PY
done
