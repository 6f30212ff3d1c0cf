#!/usr/bin/env bash
# cmake --install into a temporary prefix, then build and run a downstream
# project that uses find_package(mrivol) and links mrivol::mrivol.
set -euo pipefail
BUILD=$1 SRC=$2 WORK=$3
FLAGS=${4:-}  # the sanitizer build passes -fsanitize=... so the consumer links the same runtime
rm -rf "$WORK" && mkdir -p "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
test -x "$WORK/prefix/bin/mrivol-load"
cmake -S "$SRC/tests/consumer" -B "$WORK/consumer" -DCMAKE_PREFIX_PATH="$WORK/prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" >/dev/null
cmake --build "$WORK/consumer" >/dev/null
out=$("$WORK/consumer/consumer" "$SRC/test_data/dicom/sag_t2")
echo "$out"
grep -q "64x64x12" <<<"$out"
"$WORK/prefix/bin/mrivol-load" --version | grep -q mrivol
rm -rf "$WORK"
