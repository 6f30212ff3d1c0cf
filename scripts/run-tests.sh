#!/usr/bin/env bash
# README command 2 (and .ci/run): install what is missing, build, run every
# test through CTest, fuzz each libFuzzer target for a bounded time, then run
# every test again in a sanitizer (ASan + UBSan) build. Needs ../shared/dicom
# beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
( cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j "$(nproc)" --timeout 900 )
# Bounded fuzzing with clang/libFuzzer (FUZZ_SECONDS per target, default 60).
./scripts/fuzz.sh
# The whole suite again, built with AddressSanitizer + UBSan (skip with MRIVOL_SKIP_SANITIZE=1).
if [ "${MRIVOL_SKIP_SANITIZE:-0}" != 1 ]; then ./scripts/sanitize.sh; fi
