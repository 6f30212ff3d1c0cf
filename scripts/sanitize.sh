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
# The compare accuracy matrix runs 4 of its 11 pairs here (T2, T1c with the
# shared canal, sagittal T1c with posture, null): the others take the same
# code paths, and each pair costs about 150 s under the sanitizers. The swap
# test (CompareSymmetry: two whole comparisons of one pair) takes them too.
ctest --output-on-failure -j "$(nproc)" --timeout 1800 \
  -E 'CompareSymmetry|CompareMatrix.*/(iso3d_t1c_5deg8mm|iso3d_t2_bright|iso3d_t2_dark_small_10pct|iso3d_t2_posture_snr12_jitter_45pct|sag2d_t2_dark|ax2d_t2_dark|null_sag2d_t2_snr12)' "$@"
