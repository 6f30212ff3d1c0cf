#!/usr/bin/env bash
# Times mrivol-segment on a 3D 1 mm lumbar phantom scan (256x256x80, T2 dark
# veins and contrast-enhanced T1) from a NIfTI file and from the DICOM folder;
# prints the median wall time, peak RSS, the goal (< 15 s and < 1.5 GB on
# 2 cores) and where the time goes (the library's own stage timings).
# No peer tool segments the epidural plexus, so no ratio is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}/tools
RUNS=${RUNS:-3}
for t in mrivol-phantom mrivol-segment mrivol-load; do
  [ -x "$B/$t" ] || { echo "bench_segment: $B/$t not built (run scripts/build.sh)" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/mrivol-bench-segment.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "mrivol-segment: 3D 1 mm lumbar scan ($(nproc) cores, $RUNS runs each, $(date -u +%F))"
printf '%-5s %-6s %10s %12s %-22s %s\n' scan input median_s peak_RSS_KiB goal stages_s
for c in t2 t1c; do
  "$B/mrivol-phantom" --out "$TMP/$c" --acquisition iso3d --contrast "$c" --no-previews -q
  "$B/mrivol-load" "$TMP/$c/pre" -o "$TMP/$c/pre.nii.gz" -q
  for input in dicom nifti; do
    src="$TMP/$c/pre"
    extra=""
    [ "$input" = nifti ] && { src="$TMP/$c/pre.nii.gz"; extra="--contrast $c"; }
    times=() rss=0
    for i in $(seq "$RUNS"); do
      /usr/bin/time -f "%e %M" -o "$TMP/t" "$B/mrivol-segment" "$src" $extra --out "$TMP/seg" --force -q
      read -r t m < "$TMP/t"
      times+=("$t")
      (( m > rss )) && rss=$m
    done
    med=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
    goal=$(awk -v m="$med" -v r="$rss" 'BEGIN {print ((m < 15 && r < 1572864) ? "<15 s, <1.5 GB: yes" : "<15 s, <1.5 GB: NO")}')
    stages=$(python3 -c "import json; j=json.load(open('$TMP/seg/segmentation.json')); print(' '.join('%s=%.2f' % (k.replace(' ', '_'), v) for k, v in j['stage_seconds'].items()))")
    printf '%-5s %-6s %10s %12s %-22s %s\n' "$c" "$input" "$med" "$rss" "$goal" "$stages"
  done
done
