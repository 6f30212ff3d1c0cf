#!/usr/bin/env bash
# Regenerate docs/tools/<tool>.txt from each tool's --help (the one spec
# from which parsing, help and docs come). tests/check_docs.sh fails when
# the committed docs differ.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BUILD_DIR:-build}/tools
for t in "$BIN"/mrivol-*; do
  name=$(basename "$t")
  "$t" --help > "docs/tools/$name.txt"
done
