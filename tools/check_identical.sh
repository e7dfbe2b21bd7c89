#!/usr/bin/env bash
# Byte-identity check for refactors: quantizes the sample models with a fixed
# matrix of schemes and flags using two pq binaries, and compares every model,
# external-data file and report they write, byte for byte.
#
#   tools/check_identical.sh OLD_PQ NEW_PQ     compare two binaries
#   tools/check_identical.sh --rev REV         build REV (git worktree, Release)
#                                              and compare it with build/pq
#
# Both runs use the same relative paths, the same argv (the binary is invoked
# as `pq` from PATH) and SOURCE_DATE_EPOCH, so a report differs only where
# what pq wrote differs. The report's "seconds"-like timing fields are the
# only values removed before comparison (they measure the run, not the model).
# Exit 0: identical; 1: a difference (listed on stderr); 2: usage.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" >&2; exit 2; }
[ $# -ge 2 ] || usage

if [ "$1" = "--rev" ]; then
  rev="$2"
  base_dir="$PQ_ROOT/build-identical/$rev"
  if [ ! -x "$base_dir/build/pq" ]; then
    say "building $rev in $base_dir"
    rm -rf "$base_dir"
    mkdir -p "$(dirname "$base_dir")"
    git -C "$PQ_ROOT" worktree add --detach "$base_dir/src" "$rev" >/dev/null
    launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S "$base_dir/src" -B "$base_dir/build" -DCMAKE_BUILD_TYPE=Release \
      -DPQ_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
    with_build_lock cmake --build "$base_dir/build" -j "$PQ_JOBS" --target pq_cli >/dev/null
  fi
  old_pq="$base_dir/build/pq"
  new_pq="$PQ_BUILD_DIR/pq"
else
  old_pq="$(realpath "$1")"
  new_pq="$(realpath "$2")"
fi
[ -x "$old_pq" ] && [ -x "$new_pq" ] || { say "not executable: $old_pq or $new_pq"; exit 2; }

export SOURCE_DATE_EPOCH=1700000000
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One line per run: output name, then the flags after MODEL (paths relative
# to the run folder, where models/ links to the repository's models).
matrix() {
  local cnn=models/fashion_cnn.onnx vit=models/fashion_vit.onnx calib="--calib models/calib_images.npy"
  cat <<EOF
cnn_i8s $cnn --scheme int8-sym $calib
cnn_i8a_entropy $cnn --scheme int8-asym $calib --calib-method entropy
cnn_i8a_symw_pct $cnn --scheme int8-asym --symmetric-weights $calib --calib-method percentile --percentile 99.9
cnn_i8a_asymw $cnn --scheme int8-asym --asymmetric-weights $calib
cnn_i8a_mse_nofold $cnn --scheme int8-asym $calib --calib-method mse --no-fold-batchnorm --calib-batch 8
cnn_i8s_tensor_wo $cnn --scheme int8-sym --granularity per-tensor --weights-only
cnn_i8s_conv_only $cnn --scheme int8-sym $calib --op-types Conv --exclude-nodes /conv2/Conv
cnn_nf4_fallback $cnn --scheme nf4 --fallback int8-sym --block-size 32
cnn_nf4_onnx_dq $cnn --scheme nf4 --nf4-format onnx --double-quant --fallback int8-asym $calib
cnn_i4a_onnx $cnn --scheme int4-asym --int4-format onnx --fallback int8-sym
cnn_i8a_validate $cnn --scheme int8-asym $calib --validate models/val_images.npy --labels models/val_labels.npy --min-sqnr 10
cnn_i8a_autofallback $cnn --scheme int8-sym $calib --calib-samples 64 --validate models/val_images.npy --labels models/val_labels.npy --min-sqnr 35 --auto-fallback
cnn_i8a_external $cnn --scheme int8-asym $calib --external-data --report-detail full
vit_i8a $vit --scheme int8-asym $calib
vit_i8s_mse $vit --scheme int8-sym $calib --calib-method mse --report-detail summary
vit_nf4 $vit --scheme nf4
vit_nf4_onnx $vit --scheme nf4 --nf4-format onnx --block-size 128
vit_i4s $vit --scheme int4-sym
vit_i4a_onnx $vit --scheme int4-asym --int4-format onnx
vit_i4s_fallback_static $vit --scheme int4-sym --fallback int8-asym $calib
vit_i8dyn $vit --scheme int8-dynamic
vit_i8dyn_tensor $vit --scheme int8-dynamic --granularity per-tensor
EOF
}

run_all() {
  local pq_bin="$1" dir="$2"
  mkdir -p "$dir/bin" "$dir/out"
  ln -s "$pq_bin" "$dir/bin/pq"
  ln -s "$PQ_ROOT/models" "$dir/models"
  local name args rc
  while read -r name args; do
    # shellcheck disable=SC2086
    rc=0
    (cd "$dir" && PATH="$dir/bin:$PATH" pq -q quantize $args -o "out/$name.onnx" \
       >"out/$name.stdout" 2>"out/$name.stderr") || rc=$?
    echo "$rc" >"$dir/out/$name.exit"
  done < <(matrix)
  # Timing is the one thing two runs of the same binary do not share.
  sed -i -E 's/"seconds": [0-9.e+-]+/"seconds": 0/' "$dir"/out/*.stdout "$dir"/out/*.json 2>/dev/null || true
  rm -f "$dir"/out/*.stderr
}

say "quantizing with the old binary ($old_pq)"
run_all "$old_pq" "$work/old"
say "quantizing with the new binary ($new_pq)"
run_all "$new_pq" "$work/new"

count=$(ls "$work/old/out" | wc -l)
if diff -r "$work/old/out" "$work/new/out" >"$work/diff.txt" 2>&1; then
  say "identical: $count files from $(matrix | wc -l) runs"
  exit 0
fi
say "DIFFERENT (of $count files):"
grep -E "^(diff|Only|Binary)" "$work/diff.txt" >&2 || true
head -50 "$work/diff.txt" >&2
exit 1
