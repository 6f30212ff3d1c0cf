#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (issue 8): builds everything with -fsanitize=address,undefined
# (-fno-sanitize-recover: any report aborts) into ${ASAN_BUILD_DIR:-build-asan}
# and runs every CTest test there. A sanitizer report fails its test.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${ASAN_BUILD_DIR:-build-asan}
BUILD_DIR=$B ./scripts/build.sh -DMRIVOL_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}
cd "$B"
ctest --output-on-failure -j "$(nproc)" --timeout 1800 "$@"
