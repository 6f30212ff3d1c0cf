#!/usr/bin/env bash
# The committed tool docs must equal the tools' --help output.
set -euo pipefail
BIN=$1 SRC=$2
status=0
for t in "$BIN"/mrivol-*; do
  name=$(basename "$t")
  if ! diff -u "$SRC/docs/tools/$name.txt" <("$t" --help); then
    echo "docs/tools/$name.txt is out of date: run scripts/update-docs.sh" >&2
    status=1
  fi
done
exit $status
