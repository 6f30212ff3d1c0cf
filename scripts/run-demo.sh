#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on
# the embedded default. For now the main job lists and converts the bundled
# DICOM test data (test_data/dicom, and the real-scanner corpus in
# ../shared/dicom when it is beside the checkout) into mrivol-demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
BIN=${BUILD_DIR:-build}/tools
OUT=${1:-mrivol-demo-out}
mkdir -p "$OUT"

convert_all() {  # $1 = DICOM folder, $2 = output prefix
  local dir=$1 prefix=$2
  echo "== $dir"
  "$BIN/mrivol-load" "$dir" --list -q
  "$BIN/mrivol-load" "$dir" --list -q | tail -n +2 | cut -f2 | while read -r label; do
    "$BIN/mrivol-load" "$dir" -o "$OUT/${prefix}_${label}.nii.gz" --series "$label" --force -q
    echo "   wrote $OUT/${prefix}_${label}.nii.gz (+ .json)"
  done
}

convert_all test_data/dicom bundled
SHARED=${MRIVOL_SHARED_DIR:-../shared}/dicom
if [ -d "$SHARED" ]; then
  for c in "$SHARED"/*/dicom; do
    name=$(basename "$(dirname "$c")")
    convert_all "$c" "$name"
  done
fi
echo "demo: outputs in $OUT/"
