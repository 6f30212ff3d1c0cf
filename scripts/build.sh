#!/usr/bin/env bash
# Configure and build mrivol (Release) into ${BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DMRIVOL_WERROR=${MRIVOL_WERROR:-ON} "$@" >&2
cmake --build "$BUILD_DIR" -j "$JOBS" >&2
