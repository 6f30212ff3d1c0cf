#!/usr/bin/env bash
# Every C++ source must be clang-format clean (.clang-format at the top).
set -euo pipefail
SRC=$1
cd "$SRC"
files=$(find libmrivol tools tests bench -name '*.cpp' -o -name '*.hpp' 2>/dev/null)
clang-format --dry-run -Werror $files
