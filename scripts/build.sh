#!/usr/bin/env bash
# Configure and build mrivol (Release) into ${BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
# ccache hits across checkouts in other folders (CI clones afresh)
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DMRIVOL_WERROR=${MRIVOL_WERROR:-ON} "$@" >&2
cmake --build "$BUILD_DIR" -j "$JOBS" >&2
