#!/usr/bin/env bash
# Builds the test cohort in DIR: four phantom subjects and a broken one.
#   sub-01  small preset, T2, DICOM folders
#   sub-02  small preset, T2, DICOM folders, per-subject options (--levels L3-S1)
#   sub-03  small preset, contrast-enhanced T1, DICOM folders
#   sub-04  broken: the pre folder holds a file that is not DICOM
#   sub-05  small preset, T2, NIfTI files written by mrivol-load
# and DIR/cohort.tsv, the manifest (relative paths).
set -euo pipefail
tools=${1:?usage: make_cohort.sh TOOLS_DIR DIR}
dir=${2:?usage: make_cohort.sh TOOLS_DIR DIR}
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
ph() { "$tools/mrivol-phantom" --quiet --no-previews --preset small "$@"; }
ph --out p1 --seed 11
ph --out p2 --seed 12
ph --out p3 --seed 13 --contrast t1c
ph --out p5 --seed 15
mkdir -p broken/pre
printf 'this is not a DICOM file\n' > broken/pre/IMG0001.dcm
cp -r p1/post broken/post
mkdir -p nifti
"$tools/mrivol-load" p5/pre -o nifti/sub-05_pre.nii.gz --quiet
"$tools/mrivol-load" p5/post -o nifti/sub-05_post.nii.gz --quiet
printf 'subject\tpre\tpost\troi\toptions\n' > cohort.tsv
printf 'sub-01\tp1/pre\tp1/post\t\t\n' >> cohort.tsv
printf 'sub-02\tp2/pre\tp2/post\t\t--levels L3-S1\n' >> cohort.tsv
printf 'sub-03\tp3/pre\tp3/post\t\t\n' >> cohort.tsv
printf 'sub-04\tbroken/pre\tbroken/post\t\t\n' >> cohort.tsv
printf 'sub-05\tnifti/sub-05_pre.nii.gz\tnifti/sub-05_post.nii.gz\t\t\n' >> cohort.tsv
