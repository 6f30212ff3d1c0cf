#!/usr/bin/env bash
# Bounded fuzzing (issue 8): builds the libFuzzer targets with clang
# (AddressSanitizer + UndefinedBehaviorSanitizer, into ${FUZZ_BUILD_DIR:-build-fuzz})
# and runs each for FUZZ_SECONDS (default 60):
#   fuzz_dicom    DICOM series assembly (scan + load), seeds: small synthetic series in
#                 every encodable transfer syntax and edge cases (mrivol-test-fuzz-seeds),
#                 the smallest real files of ../shared/dicom, tests/fuzz/regressions/dicom
#   fuzz_options  the tools' option, box, point and level parsing
# A finding fails the run; its input is left in build-fuzz/artifacts/TARGET/ and
# belongs, once fixed, in tests/fuzz/regressions/TARGET/ (replayed by every test run).
# Needs the main build (for the seed generator) and clang (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
B=${FUZZ_BUILD_DIR:-build-fuzz}
MAIN=${BUILD_DIR:-build}
SECONDS_EACH=${FUZZ_SECONDS:-60}
SHARED=${MRIVOL_SHARED_DIR:-$SRC/../shared}
export CCACHE_BASEDIR=$SRC CCACHE_NOHASHDIR=true
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DMRIVOL_FUZZ=ON -DMRIVOL_WERROR=OFF > "${TMPDIR:-/tmp}/mrivol-fuzz-configure.log" 2>&1 ||
  { cat "${TMPDIR:-/tmp}/mrivol-fuzz-configure.log" >&2; exit 1; }
cmake --build "$B" --target fuzz_dicom fuzz_options -j "$(nproc)" >&2

seedgen=$MAIN/tests/fuzz/mrivol-test-fuzz-seeds
[ -x "$seedgen" ] || { echo "fuzz.sh: $seedgen missing (run scripts/build.sh first)" >&2; exit 1; }
rm -rf "$B/corpus" "$B/artifacts"
mkdir -p "$B/corpus/dicom" "$B/corpus/options" "$B/artifacts/dicom" "$B/artifacts/options"
"$seedgen" "$B/corpus/dicom"
for f in "$SHARED"/dicom/{philips_ax_oblique_epi,ge_ax_epi_ffs,philips_dualecho_magph}/dicom/0001.dcm; do
  [ -f "$f" ] && cp "$f" "$B/corpus/dicom/real_$(basename "$(dirname "$(dirname "$f")")")"
done
i=0
for s in "-30,-10,-120,30,60,80" "1,2,3;4,5,6" "L3-S1" "L1-L2" "--roi" "--seeds" "--levels" "--threads" \
         "--roi-box" "--min-component" "1e308,1,1,1,1,1" "nan,1,2,3,4,5" "-o" "--help" "--version"; do
  printf '%s\n' "$s" > "$B/corpus/options/seed$i"; i=$((i + 1))
done
printf -- '--roi-box\n-20,-10,-60,20,40,60\n--seeds\n0,0,0;1,1,1\n--levels\nL2-L5\n' > "$B/corpus/options/seed_cmd"

# Allocations over 2 GB fail (return null / throw bad_alloc) as on a smaller
# machine, and the code must cope: with deflated or gzip-compressed DICOM,
# DCMTK asks for an element's claimed length before it can know the stream is
# too short (its nothrow allocation then fails cleanly).
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=2048}
# each DICOM input becomes files: keep them in memory when possible
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
status=0
for t in dicom options; do
  echo "fuzz.sh: fuzz_$t for ${SECONDS_EACH}s" >&2
  if ! "$B/tests/fuzz/fuzz_$t" "$B/corpus/$t" "$SRC/tests/fuzz/regressions/$t" \
        -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -timeout=30 -seed=${FUZZ_SEED:-20261127} -print_final_stats=1 -artifact_prefix="$B/artifacts/$t/" > "$B/fuzz_$t.log" 2>&1; then
    status=1
    echo "fuzz.sh: fuzz_$t found a problem:" >&2
    grep -E "ERROR|SUMMARY|Test unit written|runtime error" "$B/fuzz_$t.log" | head -20 >&2
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov: " "$B/fuzz_$t.log" | tail -3 >&2
done
exit $status
