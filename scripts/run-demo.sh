#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on
# the embedded default. For now (until the comparison lands) the main job:
#   1. simulates the phantom pair of the motivating case (mrivol-phantom
#      --preset case: T2 sagittal lumbar, L4 foraminal draining vein, plexus
#      engorged after exercise) into mrivol-demo-out/case/{pre,post,truth};
#   2. registers post onto pre with mrivol-register (transform, QC pictures),
#      segments the plexus of both sessions with mrivol-segment, and runs the
#      whole comparison with mrivol-compare (report.json/.csv/.html), printing
#      the measured change next to the phantom's truth;
#   3. lists and converts both sessions with mrivol-load (NIfTI + JSON);
#   4. lists and converts the bundled DICOM (test_data/dicom) and, when the
#      real-scanner corpus ../shared/dicom sits beside the checkout, every
#      series in it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
BIN=${BUILD_DIR:-build}/tools
OUT=${1:-mrivol-demo-out}
mkdir -p "$OUT"

echo "== phantom pair (motivating case) -> $OUT/case"
"$BIN/mrivol-phantom" --out "$OUT/case" --preset case --force
grep -A3 '"plexus_volume_mm3"' "$OUT/case/truth/truth.json"

convert_all() {  # $1 = DICOM folder, $2 = output prefix
  local dir=$1 prefix=$2
  echo "== $dir"
  "$BIN/mrivol-load" "$dir" --list -q
  "$BIN/mrivol-load" "$dir" --list -q | tail -n +2 | cut -f2 | while read -r label; do
    "$BIN/mrivol-load" "$dir" -o "$OUT/${prefix}_${label}.nii.gz" --series "$label" --force -q
    echo "   wrote $OUT/${prefix}_${label}.nii.gz (+ .json)"
  done
}

echo "== register post onto pre (rigid) -> $OUT/case-registration"
"$BIN/mrivol-register" "$OUT/case/pre" "$OUT/case/post" --out "$OUT/case-registration" --force
grep -A4 '"pre_to_post_lps"' "$OUT/case/truth/truth.json" | head -5

for session in pre post; do
  echo "== segment the plexus ($session) -> $OUT/case-segmentation-$session"
  "$BIN/mrivol-segment" "$OUT/case/$session" --out "$OUT/case-segmentation-$session" --force
done

echo "== the comparison (the main job) -> $OUT/case-comparison"
"$BIN/mrivol-compare" --pre "$OUT/case/pre" --post "$OUT/case/post" --out "$OUT/case-comparison" --force
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
r = json.load(open(out + "/case-comparison/report.json"))
t = json.load(open(out + "/case/truth/truth.json"))
c = r["change"]
print("   measured: pre %.0f mm3, post %.0f mm3, change %+.1f %% (interval %+.1f to %+.1f %%)"
      % (r["pre"]["plexus_volume_mm3"], r["post"]["plexus_volume_mm3"], c["percent"], *c["interval_percent"]))
print("   phantom truth: pre %.0f mm3, post %.0f mm3, change %+.1f %%"
      % (t["plexus_volume_mm3"]["pre"], t["plexus_volume_mm3"]["post"], t["change"]["percent"]))
for l in r["levels"]:
    if l["measured"]:
        print("   %-6s pre %6.0f  post %6.0f  %+6.1f %%" % (l["level"], l["pre_mm3"], l["post_mm3"], l["percent"]))
print("   report: " + out + "/case-comparison/report.html")
PY

convert_all "$OUT/case/pre" case_pre
convert_all "$OUT/case/post" case_post
convert_all test_data/dicom bundled
SHARED=${MRIVOL_SHARED_DIR:-../shared}/dicom
if [ -d "$SHARED" ]; then
  for c in "$SHARED"/*/dicom; do
    name=$(basename "$(dirname "$c")")
    convert_all "$c" "$name"
  done
fi
echo "demo: outputs in $OUT/ (phantom truth: $OUT/case/truth/truth.json, previews: $OUT/case/truth/*.png)"
