#!/usr/bin/env bash
# The cohort workflow on this machine with 2 cores (issue 7):
#  1. a full run: right rows, the broken subject failed with its error, the
#     others measured (check_cohort.py);
#  2. a re-run does no work;
#  3. touching one input file reruns that subject only;
#  4. changing one subject's options in the manifest reruns that subject only;
#  5. the folder layout (sub-*/ses-pre, ses-post) is discovered.
# Leaves WORK/out-local for the Slurm test to compare with.
set -euo pipefail
tools=${1:?usage: test_local.sh TOOLS_DIR SOURCE_DIR WORK}
src=${2:?}
work=${3:?}
cohort=$work/cohort
out=$work/out-local
smk() { snakemake -s "$src/pipelines/Snakefile" --config manifest="$cohort/cohort.tsv" out="$out" bin="$tools" "$@"; }
fail() { echo "test_local: $*" >&2; exit 1; }
count_jobs() { grep -c "^rule compare:" "$1" || true; }
stamp() { stat -c %Y.%y "$out"/derivatives/mrivol/sub-0*/sub-0*_compare.json | md5sum; }

cd "$work"
rm -rf "$out" .snakemake
echo "== full run" >&2
smk --cores 2 > run1.log 2>&1 || { tail -30 run1.log >&2; fail "the run failed"; }
[ "$(count_jobs run1.log)" = 5 ] || fail "expected 5 compare jobs, got $(count_jobs run1.log)"
python3 "$src/tests/pipeline/check_cohort.py" "$cohort" "$out"

echo "== re-run: nothing to do" >&2
smk --cores 2 > run2.log 2>&1 || fail "the re-run failed"
grep -q "Nothing to be done" run2.log || { cat run2.log >&2; fail "the re-run did work"; }

echo "== touch one input of sub-03" >&2
before=$(stat -c %y "$out"/derivatives/mrivol/sub-0{1,2,4,5}/*_compare.json)
sleep 1
touch "$cohort/p3/pre/IMG0005.dcm"
smk --cores 2 > run3.log 2>&1 || fail "the run after touch failed"
[ "$(count_jobs run3.log)" = 1 ] || fail "touch: expected 1 compare job, got $(count_jobs run3.log)"
grep -q "wildcards: subject=03" run3.log || fail "touch: the rerun was not sub-03"
[ "$before" = "$(stat -c %y "$out"/derivatives/mrivol/sub-0{1,2,4,5}/*_compare.json)" ] || fail "touch: other subjects were redone"
python3 "$src/tests/pipeline/check_cohort.py" "$cohort" "$out"

echo "== change sub-02's options" >&2
cp "$cohort/cohort.tsv" "$cohort/cohort.tsv.orig"
sed -i 's/--levels L3-S1/--levels L3-S1 --lowest-disc L5-S1/' "$cohort/cohort.tsv"
smk --cores 2 > run4.log 2>&1 || fail "the run after an option change failed"
mv "$cohort/cohort.tsv.orig" "$cohort/cohort.tsv"
[ "$(count_jobs run4.log)" = 1 ] || fail "options: expected 1 compare job, got $(count_jobs run4.log)"
grep -q "wildcards: subject=02" run4.log || fail "options: the rerun was not sub-02"
grep -q "Params have changed" run4.log || fail "options: rerun for another reason"
smk --cores 2 > run5.log 2>&1 || fail "the run after restoring the options failed"
python3 "$src/tests/pipeline/check_cohort.py" "$cohort" "$out"

echo "== folder discovery, with the per-step tools" >&2
bids=$work/bids
rm -rf "$bids" "$work/out-bids"
mkdir -p "$bids/sub-01/ses-pre/anat" "$bids/sub-01/ses-post/anat" "$bids/sub-02"
cp -r "$cohort/p1/pre" "$bids/sub-01/ses-pre/dicom"
cp -r "$cohort/p1/post" "$bids/sub-01/ses-post/dicom"
snakemake -s "$src/pipelines/Snakefile" --config bids="$bids" out="$work/out-bids" bin="$tools" \
  steps=load,register,segment --cores 2 > run6.log 2>&1 \
  || { tail -20 run6.log >&2; fail "the discovery run failed"; }
python3 - "$work/out-bids/cohort.tsv" "$out/cohort.tsv" <<'PY'
import sys
b = {l.split("\t")[0]: l.rstrip("\n").split("\t") for l in open(sys.argv[1])}
m = {l.split("\t")[0]: l.rstrip("\n").split("\t") for l in open(sys.argv[2])}
assert list(b) == ["subject", "sub-01", "sub-02"], list(b)
assert b["sub-01"][1] == "ok" and b["sub-01"][5:12] == m["sub-01"][5:12], (b["sub-01"][:12], m["sub-01"][:12])
assert b["sub-02"][1] == "failed" and "session folder not found" in b["sub-02"][4], b["sub-02"][:5]
PY
d=$work/out-bids/derivatives/mrivol/sub-01
for f in ses-pre/sub-01_ses-pre_desc-mrivol_MR.nii.gz ses-post/sub-01_ses-post_desc-mrivol_MR.json \
         register/transform.tfm register/registration.json ses-pre/segment/segmentation.json \
         ses-post/segment/plexus.nii.gz sub-01_register.log ses-pre/sub-01_ses-pre_segment.log; do
  [ -f "$d/$f" ] || fail "steps: $f missing"
done
echo "test_local: all checks passed" >&2
