#!/usr/bin/env bash
# A disk that fills up while each tool writes: every run must fail with exit
# 6 and one line naming the output and the full disk, leave no temporary
# file, and keep the earlier results on that disk as they were. Then, with
# space again, the same run succeeds (it was the disk, nothing else).
#
# Usage: disk_full.sh TOOLS_DIR WORK_DIR
# Needs root for a small tmpfs, mounted in a private mount namespace
# (`unshare -m`, re-executed below) so that it disappears with the process
# whatever happens. Exit 77 = skipped.
set -uo pipefail
TOOLS=$1
WORK=$2
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root to mount a small tmpfs"
  exit 77
fi
if [ -z "${MRIVOL_DISK_FULL_NS:-}" ]; then
  MRIVOL_DISK_FULL_NS=1 exec unshare -m bash "$0" "$@"
fi
rm -rf "$WORK"
mkdir -p "$WORK/disk"
fail=0
check() {  # check CONDITION MESSAGE
  if ! eval "$1"; then
    echo "FAIL: $2"
    fail=1
  fi
}

"$TOOLS/mrivol-phantom" --preset small --seed 3 --no-previews --out "$WORK/ph" -q || exit 1
PH=$WORK/ph
# Private mount: nobody else sees it, it goes away with this process.
mount --make-rprivate / 2>/dev/null || true
if ! mount -t tmpfs -o size=8m tmpfs "$WORK/disk"; then
  echo "skipped: cannot mount tmpfs"
  exit 77
fi
trap 'umount "$WORK/disk" 2>/dev/null; rm -rf "$WORK"' EXIT
D=$WORK/disk

# Earlier results on the disk that must survive.
mkdir -p "$D/out"
echo "earlier result" >"$D/out/report.json"
echo "earlier image" >"$D/img.nii.gz"
echo "earlier sidecar" >"$D/img.json"
snapshot() { (cd "$D" && find . -path ./filler -prune -o -type f -print0 | sort -z | xargs -0 sha256sum); }
before=$(snapshot)

# Fill the disk, leaving about 100 KiB: smaller than any tool's output.
avail_kb=$(df -k --output=avail "$D" | tail -1 | tr -d ' ')
dd if=/dev/zero of="$D/filler" bs=1k count=$((avail_kb - 100)) status=none 2>/dev/null
echo "free before the runs: $(df -k --output=avail "$D" | tail -1 | tr -d ' ') KiB"

runs=(
  "mrivol-segment|$PH/pre --out $D/out --force"
  "mrivol-register|$PH/pre $PH/post --out $D/out --force"
  "mrivol-compare|--pre $PH/pre --post $PH/post --out $D/out --force"
  "mrivol-load|$PH/pre -o $D/img.nii.gz --force"
  "mrivol-load|$PH/pre -o $D/new.nii"
  "mrivol-load|$PH/pre --deidentify $D/share --pseudonym sub-01 --deidentify-pixels"
  "mrivol-phantom|--preset small --seed 4 --no-previews --out $D/ph2"
)
for r in "${runs[@]}"; do
  tool=${r%%|*}
  args=${r#*|}
  # shellcheck disable=SC2086
  "$TOOLS/$tool" $args -q 2>"$WORK/err" >/dev/null
  code=$?
  err=$(cat "$WORK/err")
  lines=$(wc -l <"$WORK/err")
  echo "$tool: exit $code: $err"
  check "[ $code = 6 ]" "$tool $args: exit $code, expected 6"
  check "[ $lines = 1 ]" "$tool: $lines lines on stderr, expected 1"
  check "[[ \"\$err\" == \"$tool: error: \"* ]]" "$tool: stderr does not start with '$tool: error:'"
  check "[[ \"\$err\" == *\"$D/\"* ]]" "$tool: the error does not name the output under $D"
  check "[[ \"\$err\" == *'No space left on device'* || \"\$err\" == *'disk full'* ]]" \
    "$tool: the error does not say the disk is full"
  check "[[ \"\$err\" != *'.tmp-'* ]]" "$tool: the error names a temporary file"
  left=$(find "$D" -name '.*tmp-*' -o -name '*.old-*' | head -3)
  check "[ -z \"$left\" ]" "$tool: temporary files left: $left"
  check "[ \"\$(snapshot)\" = \"\$before\" ]" "$tool: an earlier result changed"
  check "[ ! -e $D/new.nii ] && [ ! -e $D/share ] && [ ! -e $D/ph2 ]" "$tool: a new output appeared"
done

# With space again the same runs succeed.
rm -f "$D/filler"
"$TOOLS/mrivol-segment" "$PH/pre" --out "$D/out" --force -q
check "[ $? = 0 ]" "mrivol-segment fails with free space"
check "[ -s $D/out/segmentation.json ]" "no segmentation.json after the run with space"
"$TOOLS/mrivol-load" "$PH/pre" -o "$D/img.nii.gz" --force -q
check "[ $? = 0 ]" "mrivol-load fails with free space"

[ $fail = 0 ] && echo "disk full: all runs behaved"
exit $fail
