#!/usr/bin/env bash
# Benchmark: mrivol-load vs dcm2niix, DICOM series -> uncompressed NIfTI.
# See bench/README.md. Tables go to stdout, diagnostics to stderr, and a TSV to
# ${OUT:-bench/results}/load.tsv (per-run raw timings in load_runs.tsv).
#
# Environment:
#   BUILD_DIR          build tree, relative to the repo root or absolute (default: build)
#   MRIVOL_SHARED_DIR  folder that contains dicom/ (default: ../shared beside the repo)
#   RUNS               timed runs per tool and row (default: 5)
#   OUT                results folder (default: bench/results)
#   DCM2NIIX           dcm2niix binary (default: /usr/bin/dcm2niix)
#   TMPDIR             where temporary inputs/outputs go (default: /tmp)
set -euo pipefail

die()  { printf 'bench_load: error: %s\n' "$*" >&2; exit 1; }
note() { printf 'bench_load: %s\n' "$*" >&2; }

# --- locations -------------------------------------------------------------
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
cd "$REPO_ROOT"

BUILD_DIR=${BUILD_DIR:-build}
MRIVOL="$BUILD_DIR/tools/mrivol-load"
MAKE_SERIES="$BUILD_DIR/tests/mrivol-test-make-series"
DCM2NIIX=${DCM2NIIX:-/usr/bin/dcm2niix}
GNU_TIME=/usr/bin/time
SHARED_DIR=${MRIVOL_SHARED_DIR:-$REPO_ROOT/../shared}
DICOM_ROOT="$SHARED_DIR/dicom"
RUNS=${RUNS:-5}
OUT=${OUT:-bench/results}
SYNTH_DIMS=(512 512 200)

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
[[ -x "$MRIVOL" ]]      || die "mrivol-load not found/executable at '$MRIVOL' (repo root $REPO_ROOT; set BUILD_DIR, and build the project first)"
[[ -x "$MAKE_SERIES" ]] || die "test helper not found/executable at '$MAKE_SERIES' (set BUILD_DIR; tests must be built)"
[[ -x "$DCM2NIIX" ]]    || die "dcm2niix not found/executable at '$DCM2NIIX' (apt-get install dcm2niix, or set DCM2NIIX)"
[[ -x "$GNU_TIME" ]]    || die "GNU time not found at $GNU_TIME (apt-get install time)"
command -v python3 >/dev/null || die "python3 is required"

MRIVOL=$(cd "$(dirname "$MRIVOL")" && pwd)/$(basename "$MRIVOL")
MAKE_SERIES=$(cd "$(dirname "$MAKE_SERIES")" && pwd)/$(basename "$MAKE_SERIES")

mkdir -p "$OUT" || die "cannot create results folder '$OUT'"
OUT=$(cd "$OUT" && pwd)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mrivol-bench.XXXXXX") || die "mktemp failed"
cleanup() { rm -rf -- "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RAW="$TMP/raw.tsv"          # dataset  row  tool  run  seconds  rss_kib
INFO="$TMP/datasets.tsv"    # dataset  dir  label  bytes  files  mrivol_out  dcm2niix_out
printf 'dataset\trow\ttool\trun\tseconds\tmax_rss_kib\n' > "$RAW"
: > "$INFO"

# --- helpers ---------------------------------------------------------------
# First label (column 2 of the first data row) of `mrivol-load DIR --list -q`.
first_label() {
    local listing
    listing=$("$MRIVOL" "$1" --list -q 2>"$TMP/list.err") || return 1
    awk -F'\t' '!/^#/ && NF > 1 { print $2; exit }' <<<"$listing"
}
transfer_syntaxes() {
    local listing
    listing=$("$MRIVOL" "$1" --list -q 2>/dev/null) || return 1
    awk -F'\t' '!/^#/ && NF > 10 { print $11 }' <<<"$listing"
}
dir_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
dir_files() { find "$1" -type f | wc -l; }

# Command lines (arrays), filled per dataset by set_commands DIR LABEL.
set_commands() {
    local dir=$1 label=$2
    CMD_M=("$MRIVOL" "$dir" -o "@OUTDIR@/out.nii" --series "$label" -q --force)
    CMD_M1=("$MRIVOL" "$dir" -o "@OUTDIR@/out.nii" --series "$label" -q --force --threads 1)
    # -g i: ignore any ~/.dcm2nii.ini so a user's defaults cannot change the work done
    CMD_D=("$DCM2NIIX" -g i -z n -b n -o "@OUTDIR@" -f out "$dir")
}
show_cmd() { local a out=""; for a in "$@"; do out+=" $(printf '%q' "$a")"; done; printf '%s' "${out# }"; }

RUN_SEQ=0
# run_one TOOL OUTDIR_VAR CMD... : runs CMD in a fresh empty output folder, timed by GNU time.
# Sets LAST_SECONDS, LAST_RSS, LAST_OUTDIR.
run_one() {
    local tool=$1; shift
    RUN_SEQ=$((RUN_SEQ + 1))
    local outdir="$TMP/run$RUN_SEQ"
    rm -rf -- "$TMP"/run*       # keep only one output on disk at a time
    mkdir "$outdir"
    local args=() a
    for a in "$@"; do args+=("${a//@OUTDIR@/$outdir}"); done
    local tfile="$TMP/time.$RUN_SEQ" log="$TMP/log.$RUN_SEQ"
    if ! "$GNU_TIME" -f '%e %M' -o "$tfile" "${args[@]}" >"$log" 2>&1; then
        note "command failed ($tool): $(show_cmd "${args[@]}")"
        tail -n 20 "$log" >&2 || true
        tail -n 2 "$tfile" >&2 2>/dev/null || true
        exit 1
    fi
    # GNU time may prepend "Command exited..." lines; the format line is last.
    read -r LAST_SECONDS LAST_RSS < <(tail -n 1 "$tfile")
    [[ "$LAST_SECONDS" =~ ^[0-9.]+$ && "$LAST_RSS" =~ ^[0-9]+$ ]] \
        || die "could not parse GNU time output: $(cat "$tfile")"
    LAST_OUTDIR=$outdir
    rm -f -- "$tfile" "$log"
}

# Describe the .nii files of a folder: "N file(s), B bytes, dims a/b/c" (exit 1 if none/empty/gz).
describe_nii() {
    python3 - "$1" <<'PY'
import os, struct, sys
d = sys.argv[1]
names = sorted(os.listdir(d))
gz = [n for n in names if n.endswith('.nii.gz')]
nii = [n for n in names if n.endswith('.nii')]
if gz:
    print('compressed output present: ' + ' '.join(gz)); sys.exit(1)
if not nii:
    print('no .nii file written'); sys.exit(1)
total, dims = 0, []
for n in nii:
    p = os.path.join(d, n)
    size = os.path.getsize(p)
    with open(p, 'rb') as f:
        hdr = f.read(348)
    if size <= 352 or len(hdr) < 348:
        print(f'{n}: too small ({size} bytes)'); sys.exit(1)
    endian = '<' if struct.unpack('<i', hdr[:4])[0] == 348 else '>'
    if struct.unpack(endian + 'i', hdr[:4])[0] != 348:
        print(f'{n}: not a NIfTI-1 header'); sys.exit(1)
    dim = struct.unpack(endian + '8h', hdr[40:56])
    bitpix = struct.unpack(endian + 'h', hdr[72:74])[0]
    vox_off = struct.unpack(endian + 'f', hdr[108:112])[0]
    nvox = 1
    for k in range(1, dim[0] + 1):
        nvox *= dim[k]
    if size < vox_off + nvox * bitpix // 8:
        print(f'{n}: truncated ({size} bytes < {int(vox_off) + nvox * bitpix // 8})'); sys.exit(1)
    total += size
    dims.append('x'.join(str(dim[k]) for k in range(1, dim[0] + 1)) + f'/{bitpix}bit')
print(f'{len(nii)} file(s), {total} bytes, ' + ', '.join(dims))
PY
}

# --- datasets --------------------------------------------------------------
DATASETS=()      # names
declare -A DS_DIR DS_LABEL

add_dataset() {  # name dir
    local name=$1 dir=$2 label
    label=$(first_label "$dir") || { note "skipping $name: mrivol-load --list failed: $(head -n 3 "$TMP/list.err")"; return 0; }
    [[ -n "$label" ]] || { note "skipping $name: mrivol-load --list found no image set"; return 0; }
    DATASETS+=("$name"); DS_DIR[$name]=$dir; DS_LABEL[$name]=$label
}

if [[ -d "$DICOM_ROOT" ]]; then
    DICOM_ROOT=$(cd "$DICOM_ROOT" && pwd)
    best="" best_bytes=-1
    for d in "$DICOM_ROOT"/*/dicom; do
        [[ -d "$d" ]] || continue
        case_name=$(basename "$(dirname "$d")")
        if [[ -n "$(find "$d" -type f -name '*.gz' -print -quit)" ]]; then
            note "largest-series search: skip $case_name (.gz files; Debian dcm2niix cannot read .dcm.gz)"; continue
        fi
        if [[ "$case_name" == ts_jpegls_* ]] || transfer_syntaxes "$d" | grep -qi 'JPEG-LS'; then
            note "largest-series search: skip $case_name (JPEG-LS; Debian dcm2niix cannot decode it)"; continue
        fi
        b=$(dir_bytes "$d")
        if (( b > best_bytes )); then best=$case_name; best_bytes=$b; fi
    done
    if [[ -n "$best" ]]; then
        note "largest eligible series: $best ($best_bytes bytes)"
        add_dataset "$best" "$DICOM_ROOT/$best/dicom"
    else
        note "no eligible series found under $DICOM_ROOT"
    fi
    for extra in siemens_enh_xa30_t1 philips_dualecho_magph; do
        [[ "$extra" == "$best" ]] && continue
        if [[ -d "$DICOM_ROOT/$extra/dicom" ]]; then
            add_dataset "$extra" "$DICOM_ROOT/$extra/dicom"
        else
            note "optional dataset $extra not present, skipped"
        fi
    done
else
    note "warning: $DICOM_ROOT not found (set MRIVOL_SHARED_DIR to the folder holding dicom/); real-scanner datasets skipped"
fi

SYNTH_NAME="synthetic_${SYNTH_DIMS[0]}x${SYNTH_DIMS[1]}x${SYNTH_DIMS[2]}"
SYNTH_DIR="$TMP/synthetic"
note "generating $SYNTH_NAME with $(basename "$MAKE_SERIES") ..."
"$MAKE_SERIES" "$SYNTH_DIR" "${SYNTH_DIMS[@]}" >"$TMP/make.log" 2>&1 \
    || { cat "$TMP/make.log" >&2; die "mrivol-test-make-series failed"; }
add_dataset "$SYNTH_NAME" "$SYNTH_DIR"

(( ${#DATASETS[@]} > 0 )) || die "no dataset to benchmark"

# --- header ----------------------------------------------------------------
MRIVOL_VERSION=$("$MRIVOL" --version 2>&1 | head -n 1 || true)
DCM2NIIX_VERSION=$({ "$DCM2NIIX" --version 2>&1 || true; } | grep -m1 -i 'version' || true)
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)

echo "mrivol-load vs dcm2niix: DICOM series -> uncompressed NIfTI"
echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:   nproc=$(nproc)  kernel=$(uname -r)  cpu=${CPU_MODEL:-unknown}"
echo "mrivol:    $MRIVOL_VERSION"
echo "dcm2niix:  $DCM2NIIX_VERSION"
echo "timing:    $GNU_TIME -f '%e %M' (wall s, 10 ms resolution; peak RSS KiB); RUNS=$RUNS timed runs per row"
echo "order:     per dataset, untimed warm-up of m, m1, d; then RUNS x [m, d, m1, d]"
echo "           (m = mrivol default threads, m1 = mrivol --threads 1, d = dcm2niix; each run into a fresh empty folder;"
echo "            row 'threads=all' pairs m with the d run right after it, row 'threads=1' pairs m1 with the d run right after it)"
echo

# --- runs ------------------------------------------------------------------
for ds in "${DATASETS[@]}"; do
    dir=${DS_DIR[$ds]} label=${DS_LABEL[$ds]}
    set_commands "$dir" "$label"
    bytes=$(dir_bytes "$dir"); files=$(dir_files "$dir")
    note "dataset $ds: $files files, $bytes bytes, --series $label"

    echo "== $ds  ($files files, $bytes bytes; mrivol --series $label)"
    echo "   input:    $dir"
    echo "   mrivol:   $(show_cmd "${CMD_M[@]}" | sed "s|@OUTDIR@|\$OUTDIR|g")"
    echo "   mrivol1:  $(show_cmd "${CMD_M1[@]}" | sed "s|@OUTDIR@|\$OUTDIR|g")"
    echo "   dcm2niix: $(show_cmd "${CMD_D[@]}" | sed "s|@OUTDIR@|\$OUTDIR|g") >/dev/null 2>&1"

    # Warm-up (untimed) + output sanity check of both tools.
    run_one mrivol "${CMD_M[@]}"
    [[ -s "$LAST_OUTDIR/out.nii" ]] || die "$ds: mrivol-load did not write a non-empty out.nii"
    m_desc=$(describe_nii "$LAST_OUTDIR") || die "$ds: mrivol output not sane: $m_desc"
    run_one mrivol1 "${CMD_M1[@]}"
    m1_desc=$(describe_nii "$LAST_OUTDIR") || die "$ds: mrivol --threads 1 output not sane: $m1_desc"
    [[ "$m1_desc" == "$m_desc" ]] || die "$ds: mrivol output differs with --threads 1 ($m1_desc vs $m_desc)"
    run_one dcm2niix "${CMD_D[@]}"
    d_desc=$(describe_nii "$LAST_OUTDIR") || die "$ds: dcm2niix output not sane: $d_desc"
    echo "   output check: mrivol   $m_desc (+ JSON sidecar)"
    echo "                 dcm2niix $d_desc"
    echo
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$dir" "$label" "$bytes" "$files" "$m_desc" "$d_desc" >> "$INFO"

    for ((i = 1; i <= RUNS; i++)); do
        run_one mrivol "${CMD_M[@]}"
        [[ -s "$LAST_OUTDIR/out.nii" ]] || die "$ds run $i: mrivol-load wrote no out.nii"
        printf '%s\tthreads=all\tmrivol\t%d\t%s\t%s\n' "$ds" "$i" "$LAST_SECONDS" "$LAST_RSS" >> "$RAW"
        run_one dcm2niix "${CMD_D[@]}"
        compgen -G "$LAST_OUTDIR/*.nii" >/dev/null || die "$ds run $i: dcm2niix wrote no .nii"
        printf '%s\tthreads=all\tdcm2niix\t%d\t%s\t%s\n' "$ds" "$i" "$LAST_SECONDS" "$LAST_RSS" >> "$RAW"
        run_one mrivol1 "${CMD_M1[@]}"
        [[ -s "$LAST_OUTDIR/out.nii" ]] || die "$ds run $i: mrivol-load --threads 1 wrote no out.nii"
        printf '%s\tthreads=1\tmrivol\t%d\t%s\t%s\n' "$ds" "$i" "$LAST_SECONDS" "$LAST_RSS" >> "$RAW"
        run_one dcm2niix "${CMD_D[@]}"
        compgen -G "$LAST_OUTDIR/*.nii" >/dev/null || die "$ds run $i: dcm2niix wrote no .nii"
        printf '%s\tthreads=1\tdcm2niix\t%d\t%s\t%s\n' "$ds" "$i" "$LAST_SECONDS" "$LAST_RSS" >> "$RAW"
        note "  $ds run $i/$RUNS done"
    done
    rm -rf -- "$TMP"/run*
done

# --- summary ---------------------------------------------------------------
cp "$RAW" "$OUT/load_runs.tsv"
python3 - "$RAW" "$INFO" "$OUT/load.tsv" "$(nproc)" "$(uname -r)" "$MRIVOL_VERSION" "$DCM2NIIX_VERSION" <<'PY'
import csv, math, statistics, sys
raw, info, tsv, nproc, kernel, mver, dver = sys.argv[1:8]

def med(xs):
    return statistics.median(xs) if xs else float('nan')

def ratio(a, b):
    if b > 0: return a / b
    return float('nan') if a <= 0 else float('inf')

runs = {}
with open(raw) as f:
    for r in csv.DictReader(f, delimiter='\t'):
        runs.setdefault((r['dataset'], r['row']), {}).setdefault(r['tool'], []).append(
            (int(r['run']), float(r['seconds']), int(r['max_rss_kib'])))
meta = {}
order = []
with open(info) as f:
    for line in f:
        ds, d, label, nbytes, nfiles, mdesc, ddesc = line.rstrip('\n').split('\t')
        meta[ds] = dict(dir=d, label=label, bytes=nbytes, files=nfiles, mdesc=mdesc, ddesc=ddesc)
        order.append(ds)

rows = []
for ds in order:
    for row in ('threads=all', 'threads=1'):
        t = runs.get((ds, row))
        if not t: continue
        m = sorted(t['mrivol']); d = sorted(t['dcm2niix'])
        ms = [s for _, s, _ in m]; dsec = [s for _, s, _ in d]
        dd = {i: s for i, s, _ in d}
        pair = [ratio(s, dd[i]) for i, s, _ in m if i in dd]
        pair = [p for p in pair if not math.isnan(p)]
        mm, dm = med(ms), med(dsec)
        rom = ratio(mm, dm)
        rows.append(dict(dataset=ds, row=row, runs=len(ms), mrivol_median_s=mm, dcm2niix_median_s=dm,
                         ratio_of_medians=rom, median_of_ratios=med(pair),
                         mrivol_max_rss_kib=max(r for _, _, r in m),
                         dcm2niix_max_rss_kib=max(r for _, _, r in d),
                         mrivol_min_s=min(ms), mrivol_max_s=max(ms),
                         dcm2niix_min_s=min(dsec), dcm2niix_max_s=max(dsec),
                         verdict='yes' if rom <= 1.0 else 'no'))

def f2(x): return 'n/a' if math.isnan(x) else ('inf' if math.isinf(x) else f'{x:.2f}')
def f3(x): return 'n/a' if math.isnan(x) else ('inf' if math.isinf(x) else f'{x:.3f}')

hdr = ['dataset', 'mrivol', 'runs', 'mrivol s', 'dcm2niix s', 'ratio(med)', 'med(ratio)',
       'mrivol RSS KiB', 'dcm2niix RSS KiB', 'ratio<=1.0']
body = [[r['dataset'], r['row'], str(r['runs']), f2(r['mrivol_median_s']), f2(r['dcm2niix_median_s']),
         f3(r['ratio_of_medians']), f3(r['median_of_ratios']), str(r['mrivol_max_rss_kib']),
         str(r['dcm2niix_max_rss_kib']), r['verdict']] for r in rows]
w = [max(len(x) for x in col) for col in zip(hdr, *body)]
left = {0, 1}
def line(cells):
    return '  '.join(c.ljust(w[i]) if i in left else c.rjust(w[i]) for i, c in enumerate(cells)).rstrip()
print('Summary (seconds = median wall time; ratio = mrivol/dcm2niix; RSS = max over timed runs)')
print(line(hdr))
print(line(['-' * x for x in w]))
for b in body: print(line(b))
print()
print('Verdicts (ratio of medians):')
wd = max(len(r['dataset']) for r in rows)
for r in rows:
    print(f"  {r['dataset'].ljust(wd)}  mrivol {r['row'].ljust(11)}  ratio <= 1.0: {r['verdict']}"
          f"  ({f3(r['ratio_of_medians'])}; median of per-run ratios {f3(r['median_of_ratios'])})")
notes = [ds for ds in order if not meta[ds]['ddesc'].startswith('1 file')]
if notes:
    print()
    for ds in notes:
        print(f"Note: dcm2niix converts every image set in {ds} ({meta[ds]['ddesc'].split(',')[0]}); "
              f"mrivol-load writes only --series {meta[ds]['label']}.")

cols = ['dataset', 'row', 'runs', 'series_label', 'input_files', 'input_bytes',
        'mrivol_median_s', 'dcm2niix_median_s', 'ratio_of_medians', 'median_of_ratios',
        'mrivol_max_rss_kib', 'dcm2niix_max_rss_kib', 'mrivol_min_s', 'mrivol_max_s',
        'dcm2niix_min_s', 'dcm2niix_max_s', 'ratio_le_1', 'mrivol_output', 'dcm2niix_output',
        'nproc', 'kernel', 'mrivol_version', 'dcm2niix_version']
with open(tsv, 'w', newline='') as f:
    wr = csv.writer(f, delimiter='\t', lineterminator='\n')
    wr.writerow(cols)
    for r in rows:
        m = meta[r['dataset']]
        wr.writerow([r['dataset'], r['row'], r['runs'], m['label'], m['files'], m['bytes'],
                     f"{r['mrivol_median_s']:.3f}", f"{r['dcm2niix_median_s']:.3f}",
                     f3(r['ratio_of_medians']), f3(r['median_of_ratios']),
                     r['mrivol_max_rss_kib'], r['dcm2niix_max_rss_kib'],
                     r['mrivol_min_s'], r['mrivol_max_s'], r['dcm2niix_min_s'], r['dcm2niix_max_s'],
                     r['verdict'], m['mdesc'], m['ddesc'], nproc, kernel, mver, dver])
PY
note "wrote $OUT/load.tsv and $OUT/load_runs.tsv"
