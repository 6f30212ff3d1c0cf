#!/usr/bin/env bash
# mrivol-register vs elastix (Debian package, rigid Euler + advanced Mattes
# MI + 3-level pyramid, bench/elastix_rigid.txt) on phantom pairs with known
# motion: both read the same NIfTI files (converted once by mrivol-load), runs
# alternate (m, e, m, e, ...), and TRE is measured on the pre scan's spinal
# canal against the true motion (bench/tre.py). Prints median wall time, the
# ratio mrivol/elastix, TRE of both and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}/tools
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
command -v elastix >/dev/null || { echo "bench_register: elastix not installed (apt-get install elastix)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/mrivol-bench-register.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "mrivol-register vs $(elastix --version 2>&1 | head -1) ($(nproc) cores, $THREADS threads, $RUNS runs each, $(date -u +%F))"
printf '%-24s %9s %9s %7s %9s %9s %7s %13s %13s %11s %11s\n' pair mrivol_s elastix_s ratio m_stage e_stage s_ratio mrivol_TRE elastix_TRE mrivol_KiB elastix_KiB
for spec in "iso3d_t2:--acquisition iso3d" "iso3d_t2_6deg12mm:--acquisition iso3d --motion-deg 6 --motion-mm 12" \
            "iso3d_t1c:--acquisition iso3d --contrast t1c --motion-deg 5 --motion-mm 8" \
            "iso3d_t2_snr8:--acquisition iso3d --snr 8 --motion-deg 4 --motion-mm 6" \
            "sag2d_t2_6deg12mm:--acquisition sag2d --motion-deg 6 --motion-mm 12" \
            "sag2d_t2_4mm_6deg12mm:--acquisition sag2d --slice-mm 4 --motion-deg 6 --motion-mm 12"; do
  name=${spec%%:*}
  args=${spec#*:}
  P=$TMP/$name
  # shellcheck disable=SC2086
  "$B/mrivol-phantom" --out "$P" --seed 5 --supersample 2 --no-previews -q $args
  "$B/mrivol-load" "$P/pre" -o "$P/pre.nii" --float -q
  "$B/mrivol-load" "$P/post" -o "$P/post.nii" --float -q
  mt=() et=() ms=() es=() mk=0 ek=0
  for i in $(seq "$RUNS"); do
    rm -rf "$P/reg" "$P/el" && mkdir -p "$P/el"
    /usr/bin/time -f "%e %M" -o "$TMP/t" "$B/mrivol-register" "$P/pre.nii" "$P/post.nii" --out "$P/reg" --threads "$THREADS" -q
    read -r t k < "$TMP/t"; mt+=("$t"); (( k > mk )) && mk=$k
    ms+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$P/reg/registration.json")")
    /usr/bin/time -f "%e %M" -o "$TMP/t" elastix -f "$P/pre.nii" -m "$P/post.nii" -p bench/elastix_rigid.txt -out "$P/el" -threads "$THREADS" >/dev/null
    read -r t k < "$TMP/t"; et+=("$t"); (( k > ek )) && ek=$k
    es+=("$(sed -n 's/^Total time elapsed: \([0-9.]*\)s.*/\1/p' "$P/el/elastix.log")")
  done
  m=$(printf '%s\n' "${mt[@]}" | median)
  e=$(printf '%s\n' "${et[@]}" | median)
  msm=$(printf '%s\n' "${ms[@]}" | median)
  esm=$(printf '%s\n' "${es[@]}" | median)
  mtre=$(python3 bench/tre.py "$P" mrivol "$P/reg")
  etre=$(python3 bench/tre.py "$P" elastix "$P/el/TransformParameters.0.txt")
  printf '%-24s %9s %9s %7.2f %9.2f %9s %7.2f %13s %13s %11s %11s\n' "$name" "$m" "$e" "$(awk -v a="$m" -v b="$e" 'BEGIN {print a/b}')" \
    "$msm" "$esm" "$(awk -v a="$msm" -v b="$esm" 'BEGIN {print a/b}')" "${mtre/ /\/}" "${etre/ /\/}" "$mk" "$ek"
done
echo "TRE columns: median/max over the pre canal (mm). mrivol_s/elastix_s: whole process, median wall time"
echo "(mrivol also resamples POST, writes registered.nii.gz and QC pictures); ratio = mrivol_s/elastix_s."
echo "m_stage: mrivol's registration stage (registration.json seconds: pyramid, optimisation, metric before/after);"
echo "e_stage: elastix's own 'Total time elapsed'; s_ratio = m_stage/e_stage (the issue's goal: <= 0.5)."
