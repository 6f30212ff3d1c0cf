#!/usr/bin/env bash
# The same cohort through a real Slurm (issue 7): starts a single-node Slurm on
# this machine (munged, slurmctld, slurmd; slurm_local.sh), submits through
# pipelines/profiles/slurm, checks every subject ran as a Slurm job and that
# the cohort table is byte-identical to the local run's (test_local.sh), then
# stops the daemons it started and checks they are gone.
set -euo pipefail
tools=${1:?usage: test_slurm.sh TOOLS_DIR SOURCE_DIR WORK}
src=${2:?}
work=${3:?}
cohort=$work/cohort
out=$work/out-slurm
sdir=$work/slurm
fail() { echo "test_slurm: $*" >&2; exit 1; }
[ -f "$work/out-local/cohort.tsv" ] || fail "no local run to compare with ($work/out-local)"

cleanup() { "$src/tests/pipeline/slurm_local.sh" stop "$sdir" || true; }
trap cleanup EXIT
rm -rf "$sdir" "$out"
eval "$("$src/tests/pipeline/slurm_local.sh" start "$sdir")"
export SLURM_CONF
pids="$(cat "$sdir"/munged.pid "$sdir"/slurmctld.pid "$sdir"/slurmd.pid)"

mkdir -p "$work/wd-slurm"
cd "$work/wd-slurm"
rm -rf .snakemake
snakemake -s "$src/pipelines/Snakefile" --profile "$src/pipelines/profiles/slurm" \
  --config manifest="$cohort/cohort.tsv" out="$out" bin="$tools" > run.log 2>&1 \
  || { tail -30 run.log >&2; tail -5 "$sdir"/slurmctld.log >&2; fail "the Slurm run failed"; }
grep -q "Submitted job" run.log || fail "no job was submitted to Slurm"
for s in 01 02 03 04 05; do
  id=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['slurm_job_id'])" \
       "$out/derivatives/mrivol/sub-$s/sub-${s}_compare.json")
  [ -n "$id" ] || fail "sub-$s did not run as a Slurm job"
  ls "$out/derivatives/mrivol/sub-$s/logs/"*.slurm-"$id".log > /dev/null || fail "sub-$s: no Slurm output log"
done
python3 "$src/tests/pipeline/check_cohort.py" "$cohort" "$out"
cmp "$out/cohort.tsv" "$work/out-local/cohort.tsv" || {
  diff "$out/cohort.tsv" "$work/out-local/cohort.tsv" | cut -c1-300 >&2; fail "cohort.tsv differs from the local run"; }

cleanup
trap - EXIT
for p in $pids; do
  if kill -0 "$p" 2>/dev/null; then fail "daemon $p still running after cleanup"; fi
done
echo "test_slurm: all checks passed (Slurm jobs, identical cohort table, daemons stopped)" >&2
