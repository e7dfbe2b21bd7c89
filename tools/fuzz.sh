#!/usr/bin/env bash
# Builds pq's libFuzzer targets (tests/fuzz) with clang 14 under
# ASan+UBSan in build-hardening/ (shared with tools/sanitize.sh) and runs each, one after the other, for SECONDS
# (default 60) on its seed corpus. Prints the executions per target; exits 1
# if any target crashed (its input is kept in build-hardening/artifacts/<target>/:
# fix the bug, then copy the input to tests/fuzz/corpus/<target>/ as
# regression-<name>). Idempotent. Usage: tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(model_loader external_data npy npz tensor_proto executor tokenizer gguf_reader
  token_data report_render pqcal config model_mutator)
BUILD_DIR="$PQ_HARDENING_BUILD_DIR"

ensure_packages "${PQ_PACKAGES[@]}" "${PQ_HARDENING_PACKAGES[@]}"
configure_hardening_build
build_targets=()
for t in "${TARGETS[@]}"; do build_targets+=("pq_fuzz_$t"); done
say "building ${build_targets[*]} with $PQ_JOBS jobs (holding $PQ_BUILD_LOCK)"
with_build_lock cmake --build "$BUILD_DIR" -j "$PQ_JOBS" --target "${build_targets[@]}"

export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OMP_WAIT_POLICY=passive
failed=()
summary=()
for t in "${TARGETS[@]}"; do
  seeds="$PQ_ROOT/tests/fuzz/corpus/$t"
  work="$BUILD_DIR/corpus/$t"        # new inputs found by this and earlier runs
  artifacts="$BUILD_DIR/artifacts/$t"
  log="$BUILD_DIR/logs/$t.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  if [ "$t" = model_mutator ] && [ ! -e "$work.seeded" ]; then
    # A few hundred ONNX node tests and windows of the sample models beside
    # the committed seeds (tools/fuzz_model_seeds.py), once per build folder.
    /usr/bin/python3 "$PQ_ROOT/tools/fuzz_model_seeds.py" "$work" && touch "$work.seeded"
  fi
  say "fuzzing $t for ${SECONDS_PER_TARGET}s (seeds: tests/fuzz/corpus/$t, log: $log)"
  status=0
  "$BUILD_DIR/tests/fuzz/pq_fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=25 \
    -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$work" "$seeds" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    summary+=("$t: CRASHED after ${execs:-?} executions (exit $status); input in $artifacts/")
    say "$t crashed; the end of its log:"
    grep -E "ERROR|runtime error|SUMMARY|Test unit written|==[0-9]+==" "$log" | head -n 20 >&2 || true
  else
    summary+=("$t: ${execs:-?} executions in ${SECONDS_PER_TARGET}s, no crash")
  fi
done
say "fuzzing summary:"
for line in "${summary[@]}"; do printf '    %s\n' "$line" >&2; done
if [ ${#failed[@]} -gt 0 ]; then
  say "crashes in: ${failed[*]}"
  exit 1
fi
