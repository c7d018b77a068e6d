#!/bin/sh
# Runs one fuzz target for a while on a copy of its seed corpus.
#   fuzz/run.sh FUZZER CORPUS_DIR SECONDS
# The default test suite runs each target for seconds; fuzz/README.md has the
# command for a long run. Exit status: 0 when nothing was found; the fuzzer's
# own status (and its crash file in the work directory) otherwise.
set -eu
fuzzer=$(realpath "$1") corpus=$(realpath "$2") seconds=$3
[ -x "$fuzzer" ] || { echo "run.sh: $fuzzer is not built" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mqota-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$corpus"/* "$work/corpus/"
cd "$work"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  corpus >fuzz.log 2>&1 || status=$?
tail -n 12 fuzz.log
if [ "$status" -ne 0 ]; then
  ls crash-* leak-* timeout-* oom-* 2>/dev/null | while read -r f; do
    echo "reproducer $f (hex): $(od -An -tx1 -v "$f" | tr -d ' \n' | head -c 400)"
  done
fi
exit "$status"
