#!/usr/bin/env bash
# Cohort throughput (issue 7): N phantom subjects (default 6, sagittal 2D case
# preset with different seeds), measured three ways on this machine, in one run:
#   serial      mrivol-compare on each subject one after the other (all cores)
#   smk-t2      the Snakemake workflow, --cores 2, 2 threads per subject
#   smk-t1      the Snakemake workflow, --cores 2, 1 thread per subject (two at once)
# Prints wall time, subjects per hour and the ratio to the serial loop.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
B=$(cd "${BUILD_DIR:-build}/tools" && pwd)
N=${N:-6}
PRESET=${PRESET:-case}
for t in mrivol-phantom mrivol-compare; do
  [ -x "$B/$t" ] || { echo "bench_cohort: $B/$t not built (run scripts/build.sh)" >&2; exit 1; }
done
command -v snakemake >/dev/null || { echo "bench_cohort: snakemake not installed (scripts/deps.sh)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/mrivol-bench-cohort.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
printf 'subject\tpre\tpost\n' > "$TMP/cohort.tsv"
for i in $(seq "$N"); do
  "$B/mrivol-phantom" --out "$TMP/p$i" --preset "$PRESET" --seed $((100 + i)) --no-previews -q
  printf 'sub-%02d\tp%d/pre\tp%d/post\n' "$i" "$i" "$i" >> "$TMP/cohort.tsv"
done
echo "cohort throughput: $N subjects (preset $PRESET), $(nproc) cores, $(date -u +%F)"
printf '%-8s %10s %14s %8s\n' mode wall_s subjects_per_h ratio
now() { date +%s.%N; }

mkdir -p "$TMP/serial"
t0=$(now)
for i in $(seq "$N"); do
  "$B/mrivol-compare" --pre "$TMP/p$i/pre" --post "$TMP/p$i/post" --out "$TMP/serial/sub-$i" -q --threads 2
done
serial=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')
printf '%-8s %10.1f %14.1f %8s\n' serial "$serial" "$(awk -v s="$serial" -v n="$N" 'BEGIN {print n * 3600 / s}')" 1.00

for th in 2 1; do
  cd "$TMP" && rm -rf .snakemake "smk$th"
  t0=$(now)
  snakemake -s "$SRC/pipelines/Snakefile" --config manifest="$TMP/cohort.tsv" out="$TMP/smk$th" bin="$B" \
    threads=$th --cores 2 -q > "$TMP/smk$th.log" 2>&1 || { tail "$TMP/smk$th.log" >&2; exit 1; }
  w=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')
  ok=$(awk -F'\t' 'NR > 1 && $2 == "ok"' "$TMP/smk$th/cohort.tsv" | wc -l)
  [ "$ok" = "$N" ] || { echo "bench_cohort: only $ok of $N subjects ok with threads=$th" >&2; exit 1; }
  printf '%-8s %10.1f %14.1f %8.2f\n' "smk-t$th" "$w" "$(awk -v s="$w" -v n="$N" 'BEGIN {print n * 3600 / s}')" \
    "$(awk -v s="$w" -v r="$serial" 'BEGIN {print r / s}')"
  cd "$SRC"
done
# identical numbers whatever the threads: the cohort tables must agree
cmp "$TMP/smk1/cohort.tsv" "$TMP/smk2/cohort.tsv" && echo "cohort.tsv identical with 1 and 2 threads per subject"
