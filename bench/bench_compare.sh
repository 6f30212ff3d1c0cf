#!/usr/bin/env bash
# Times the whole comparison (mrivol-compare) on a 3D 1 mm phantom pair
# (256x256x80 each) and on the sagittal 2D case pair, from DICOM folders:
# median wall time, peak RSS, the goals (3D: < 20 s and < 1 GB; sagittal 2D:
# < 8 s, on 2 cores) and the breakdown by step (report.json stage_seconds).
# No other tool does this comparison, so no ratio is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}/tools
RUNS=${RUNS:-3}
for t in mrivol-phantom mrivol-compare; do
  [ -x "$B/$t" ] || { echo "bench_compare: $B/$t not built (run scripts/build.sh)" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/mrivol-bench-compare.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "mrivol-compare: whole comparison ($(nproc) cores, $RUNS runs each, $(date -u +%F))"
printf '%-12s %10s %12s %-26s %s\n' pair median_s peak_RSS_KiB goal stages_s
"$B/mrivol-phantom" --out "$TMP/iso3d" --acquisition iso3d --no-previews -q
"$B/mrivol-phantom" --out "$TMP/sag2d" --preset case --no-previews -q
for pair in iso3d sag2d; do
  times=() rss=0
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$TMP/t" "$B/mrivol-compare" --pre "$TMP/$pair/pre" --post "$TMP/$pair/post" \
      --out "$TMP/cmp" --force -q
    read -r t m < "$TMP/t"
    times+=("$t")
    (( m > rss )) && rss=$m
  done
  med=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  if [ "$pair" = iso3d ]; then
    goal=$(awk -v m="$med" -v r="$rss" 'BEGIN {print ((m < 20 && r < 1048576) ? "<20 s, <1 GB: yes" : "<20 s, <1 GB: NO")}')
  else
    goal=$(awk -v m="$med" 'BEGIN {print (m < 8 ? "<8 s: yes" : "<8 s: NO")}')
  fi
  stages=$(python3 -c "import json; j=json.load(open('$TMP/cmp/report.json')); print(' '.join('%s=%.2f' % (k.replace(' ', '_'), v) for k, v in j['stage_seconds'].items()))")
  printf '%-12s %10s %12s %-26s %s\n' "$pair" "$med" "$rss" "$goal" "$stages"
done
