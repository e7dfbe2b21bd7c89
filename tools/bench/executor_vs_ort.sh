#!/usr/bin/env bash
# Benchmark: pq's executor vs ONNX Runtime on the same model, same input, same
# thread count (1 and all cores). Prints one table: ms per inference of each
# (median of 3 alternating rounds), the ratio pq/ORT (issue 19's target: <= 1.2
# at 1 thread) and each side's speed-up from 1 thread to all cores. Models: a
# 224x224 conv stack, the sample CNN and ViT, a MobileNetV3-style export
# (models/export_corpus, 32x32) and the sample LLM's prefill (both layouts, row
# 0 of its held-out tokens). Run after tools/test.sh (or tools/quickstart.sh).
# A figure is only as quiet as the machine: run it with nothing else busy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench_dir="$PQ_BUILD_DIR/bench"
mkdir -p "$bench_dir"
ensure_npm_packages
[ -f "$bench_dir/conv224.onnx" ] || /usr/bin/python3 "$PQ_ROOT/tools/bench/make_conv_model.py" "$bench_dir/conv224.onnx"
cores=$(nproc)
rounds=3
tokens="$PQ_ROOT/models/tiny_llm/heldout_tokens.npy"
models=("$bench_dir/conv224.onnx" "$PQ_ROOT/models/fashion_cnn.onnx" "$PQ_ROOT/models/fashion_vit.onnx"
  "$PQ_ROOT/models/export_corpus/mobilenetv3_opset13_float32.onnx"
  "$PQ_ROOT/models/tiny_llm/tiny_llm_optimum.onnx" "$PQ_ROOT/models/tiny_llm/tiny_llm_genai.onnx")

# One timing of MODEL at THREADS on SIDE (pq or ort), as a JSON line.
time_once() {
  local side=$1 model=$2 threads=$3 iters=$4
  case "$side:$model" in
    pq:*tiny_llm*) "$PQ_BUILD_DIR/tools/bench/pq_bench_executor" "$model" --threads "$threads" --iters "$iters" \
                     --warmup 3 --data "$tokens" ;;
    pq:*) "$PQ_BUILD_DIR/tools/bench/pq_bench_executor" "$model" --threads "$threads" --iters "$iters" --warmup 5 ;;
    ort:*tiny_llm*) node "$PQ_ROOT/tools/bench/ort_llm_bench.js" "$model" "$tokens" "$threads" "$iters" 3 ;;
    ort:*) node "$PQ_ROOT/tools/bench/ort_bench.js" "$model" "$threads" "$iters" 5 ;;
  esac
}

printf '%-28s %7s %10s %10s %7s %9s %9s\n' model threads pq_ms ort_ms pq/ort pq_x_1t ort_x_1t
for model in "${models[@]}"; do
  iters=2000
  case "$model" in *conv224*) iters=40 ;; *tiny_llm*) iters=30 ;; *mobilenet*) iters=1000 ;; esac
  one_thread=""  # "pq_ms,ort_ms" at 1 thread, for the speed-up columns
  for threads in 1 "$cores"; do
    # pq and ORT alternate for `rounds` rounds; each side's figure is the
    # median of its round medians, so a shared machine's drift hits both alike.
    results=()
    for ((round = 0; round < rounds; ++round)); do
      results+=("$(time_once pq "$model" "$threads" "$iters")")
      results+=("$(time_once ort "$model" "$threads" "$iters")")
    done
    line=$(/usr/bin/python3 - "$threads" "$(basename "$model" .onnx)" "$one_thread" "${results[@]}" <<'PY'
import json, statistics, sys
threads, name, base = sys.argv[1:4]
runs = [json.loads(r) for r in sys.argv[4:]]
pq = statistics.median(r["ms_median"] for r in runs[0::2])
ort = statistics.median(r["ms_median"] for r in runs[1::2])
scale = ("-", "-")
if base:
    pq1, ort1 = map(float, base.split(","))
    scale = (f"{pq1 / pq:.2f}", f"{ort1 / ort:.2f}")
print(f"{name:<28} {threads:>7} {pq:10.3f} {ort:10.3f} {pq / ort:7.2f} {scale[0]:>9} {scale[1]:>9}|{pq},{ort}")
PY
)
    printf '%s\n' "${line%|*}"
    [ "$threads" = 1 ] && one_thread="${line#*|}"
  done
done
