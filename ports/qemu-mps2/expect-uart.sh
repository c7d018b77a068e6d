#!/bin/sh
# Runs a firmware on QEMU (run-on-qemu.sh) and checks what it printed on the
# UART and how it ended: the exit status must be STATUS and every LINE must
# appear as a whole line of the output, in the given order; a LINE ending in
# '*' only has to start a line (for numbers that move with the code, such as
# an offset into an image). Prints the UART output, then what was missing.
#
#   ports/qemu-mps2/expect-uart.sh QEMU ELF STATUS LINE...
#
# Exit: 0 when both hold, 1 otherwise (2: usage).
set -u
if [ $# -lt 4 ]; then
  echo "usage: $0 QEMU ELF STATUS LINE..." >&2
  exit 2
fi
here=$(dirname "$0")
qemu=$1
elf=$2
want_status=$3
shift 3

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$here/run-on-qemu.sh" "$qemu" "$elf" >"$out"
status=$?
cat "$out"

failed=0
if [ "$status" -ne "$want_status" ]; then
  echo "expect-uart: exit status $status, expected $want_status" >&2
  failed=1
fi
# In order: each line is looked for after the one found before it.
from=1
for line in "$@"; do
  at=$(tail -n "+$from" "$out" | awk -v want="$line" '
    (substr(want, length(want)) == "*" && index($0, substr(want, 1, length(want) - 1)) == 1) ||
    $0 == want { print NR; exit }')
  if [ -z "$at" ]; then
    echo "expect-uart: missing (in this order): $line" >&2
    failed=1
  else
    from=$((from + at))
  fi
done
exit $failed
