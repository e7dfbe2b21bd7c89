#!/usr/bin/env bash
# Builds pq and its unit tests with AddressSanitizer + UndefinedBehaviorSanitizer
# in build-hardening/ (clang 14, -O2 -g1, portable; the build tools/fuzz.sh
# shares) and runs `ctest -L unit` there. Any sanitizer report fails the run.
# Idempotent. Extra arguments go to ctest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

BUILD_DIR="$PQ_HARDENING_BUILD_DIR"

ensure_packages "${PQ_PACKAGES[@]}" "${PQ_HARDENING_PACKAGES[@]}"
configure_hardening_build
say "building pq, pq_tests and the corpus replays with $PQ_JOBS jobs (holding $PQ_BUILD_LOCK)"
with_build_lock cmake --build "$BUILD_DIR" -j "$PQ_JOBS" --target pq_cli pq_tests pq_fuzz_replays

# Leaks are errors; UBSan stops at the first report. No suppressions are
# needed (libgomp and protobuf run clean); OMP_WAIT_POLICY=passive keeps idle
# OpenMP workers from spinning, which ASan makes slow on a 2-core machine.
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OMP_WAIT_POLICY=passive
say "running the unit tests under ASan+UBSan (ctest -L unit)"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$PQ_JOBS" -L unit "$@"
