#!/usr/bin/env bash
# README command 2 (and .ci/run): install what is missing, build, run every
# test through CTest. Needs ../shared/dicom beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 900
