#!/usr/bin/env bash
# Times mrivol-phantom generating a default pair (iso3d 1 mm, 256x256x80 per
# session; and the sag2d default) over several runs; prints the median wall
# time, peak RSS and whether the goal (< 20 s on 2 cores for iso3d) is met.
# There is no peer tool that generates this phantom, so no ratio is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BUILD_DIR:-build}/tools/mrivol-phantom
RUNS=${RUNS:-3}
[ -x "$BIN" ] || { echo "bench_phantom: $BIN not built (run scripts/build.sh)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/mrivol-bench-phantom.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "mrivol-phantom: default pair generation ($(nproc) cores, $RUNS runs each, $(date -u +%F))"
printf '%-10s %-70s %10s %12s %s\n' acquisition command median_s peak_RSS_KiB goal
for acq in iso3d sag2d; do
  times=() rss=0
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$TMP/t" "$BIN" --out "$TMP/pair" --acquisition "$acq" --force -q
    read -r t m < "$TMP/t"
    times+=("$t")
    (( m > rss )) && rss=$m
  done
  med=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  goal=""
  [ "$acq" = iso3d ] && goal=$(awk -v m="$med" 'BEGIN {print (m < 20 ? "< 20 s: yes" : "< 20 s: NO")}')
  printf '%-10s %-70s %10s %12s %s\n' "$acq" "$BIN --out DIR --acquisition $acq --force -q" "$med" "$rss" "$goal"
done
