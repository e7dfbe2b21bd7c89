#!/usr/bin/env bash
# Benchmark: calibration vs plain inference on the sample models (issue 4).
# 1. Time: each method's calibration over models/calib_images.npy (256 images)
#    as a ratio of plain executor inference over the same data (targets:
#    <= 1.3 for minmax, <= 2 for the histogram methods).
# 2. Memory: peak RSS with 32 vs 1024 calibration samples, each in its own
#    process (target: equal within 10 %).
# Run after building (tools/test.sh or cmake --build build).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

bench="$PQ_BUILD_DIR/tools/bench/pq_bench_calibration"
bench_dir="$PQ_BUILD_DIR/bench"
mkdir -p "$bench_dir"
big="$bench_dir/calib_1024.npy"
[ -f "$big" ] || /usr/bin/python3 - "$PQ_ROOT/models/val_images.npy" "$big" <<'PY'
import sys
import numpy as np
images = np.load(sys.argv[1])
reps = -(-1024 // len(images))
np.save(sys.argv[2], np.concatenate([images] * reps)[:1024])
PY

field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

models=("$PQ_ROOT/models/fashion_cnn.onnx" "$PQ_ROOT/models/fashion_vit.onnx")
methods=(minmax percentile entropy mse)

echo "time: 256 samples, batch 1, 1 thread, fastest of 5 repetitions"
printf '%-12s %-11s %10s %8s %7s\n' model method seconds ratio target
for model in "${models[@]}"; do
  name=$(basename "$model" .onnx)
  infer=$(field "$("$bench" "$model" "$PQ_ROOT/models/calib_images.npy" --mode infer)" seconds_min)
  printf '%-12s %-11s %10.4f %8s %7s\n' "$name" "(infer)" "$infer" "1.00" ""
  for method in "${methods[@]}"; do
    calib=$(field "$("$bench" "$model" "$PQ_ROOT/models/calib_images.npy" --method "$method")" seconds_min)
    target=2.0; [ "$method" = minmax ] && target=1.3
    ratio=$(/usr/bin/python3 -c "print(f'{$calib / $infer:.2f}')")
    printf '%-12s %-11s %10.4f %8s %7s\n' "$name" "$method" "$calib" "$ratio" "$target"
  done
done

echo
echo "peak RSS (KiB): 32 vs 1024 samples of $big, one process each, 1 repetition"
echo "(anon / file: resident anonymous and file-backed memory at exit; the data file is mapped)"
printf '%-12s %-11s %10s %10s %8s %16s %16s\n' model method rss_32 rss_1024 change anon_32/1024 file_32/1024
for model in "${models[@]}"; do
  name=$(basename "$model" .onnx)
  for method in minmax entropy; do
    small=$("$bench" "$model" "$big" --method "$method" --samples 32 --repeat 1)
    large=$("$bench" "$model" "$big" --method "$method" --samples 1024 --repeat 1)
    rs=$(field "$small" peak_rss_kb); rl=$(field "$large" peak_rss_kb)
    change=$(/usr/bin/python3 -c "print(f'{100 * ($rl - $rs) / $rs:+.1f}%')")
    printf '%-12s %-11s %10s %10s %8s %16s %16s\n' "$name" "$method" "$rs" "$rl" "$change" \
      "$(field "$small" rss_anon_kb)/$(field "$large" rss_anon_kb)" \
      "$(field "$small" rss_file_kb)/$(field "$large" rss_file_kb)"
  done
done
