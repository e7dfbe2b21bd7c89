#!/usr/bin/env bash
# README command 2: install what is missing, build pq, run the whole test
# suite with CTest. Idempotent. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ensure_packages "${PQ_PACKAGES[@]}" "${PQ_TEST_PACKAGES[@]}"
ensure_npm_packages
build_pq -DPQ_BUILD_TESTS=ON
say "running the test suite (ctest)"
cd "$PQ_BUILD_DIR"
ctest --output-on-failure -j "$PQ_JOBS" "$@"
