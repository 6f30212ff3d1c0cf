#!/usr/bin/env bash
# Install the Debian 12 packages mrivol needs, idempotently: only missing
# packages are installed, and apt-get runs only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ccache
  libinsighttoolkit5-dev libgdcm-tools   # ITK 5.2 (+ gdcm tools silence its config warnings)
  libdcmtk-dev                           # DCMTK 3.6.7
  libopenjp2-7-dev                       # JPEG 2000 (not in open-source DCMTK)
  libboost-program-options-dev
  libgtest-dev libgmock-dev
  nlohmann-json3-dev zlib1g-dev
  dcm2niix elastix time                  # benchmark peers and timer
  clang-format                           # format check in the test suite
  clang                                  # libFuzzer targets (scripts/fuzz.sh)
  python3                                # demo summary and benchmark scripts
  chromium                               # headless check of report.html in the tests
  dicom3tools                            # dciodvfy: the tests validate the DICOM SEG objects
  snakemake                              # cohort workflow (pipelines/)
  slurm-wlm munge                        # single-node Slurm for the pipeline test
)

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present" >&2
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
