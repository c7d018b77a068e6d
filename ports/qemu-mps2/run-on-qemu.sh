#!/bin/sh
# Runs a firmware ELF for the mps2-an386 port on QEMU and exits with its status.
#
#   ports/qemu-mps2/run-on-qemu.sh QEMU ELF
#   e.g. ports/qemu-mps2/run-on-qemu.sh qemu-system-arm build/cortex-m4/ports/qemu-mps2/mqota-selftest.elf
#
# The firmware's output (UART0) is printed on stdout; QEMU's own complaints go
# to stderr. Exit status:
#   0..98  the firmware's own status (the self-test: number of failed checks)
#   99     the firmware faulted (Default_Handler printed the fault first)
#   124    hung: killed after MQOTA_QEMU_TIMEOUT seconds (default 20)
#   134    lockup (QEMU aborted), e.g. a fault inside the fault handler
#   2      usage error, or QEMU could not start the firmware
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 QEMU ELF" >&2
  exit 2
fi
qemu=$1
elf=$2
if [ ! -f "$elf" ]; then
  echo "run-on-qemu: no such firmware: $elf" >&2
  exit 2
fi

# MQOTA_QEMU_EXTRA: more QEMU arguments (word-split), e.g. a file as the
# PSRAM that holds the flash map (boot-on-flash.sh):
#   -object memory-backend-file,id=psram,mem-path=F,size=16M,share=on -machine memory-backend=psram
# -serial stdio needs a stdin QEMU can make non-blocking: hence </dev/null.
# Semihosting must be on: the firmware exits through it (SYS_EXIT_EXTENDED).
timeout -k 5 "${MQOTA_QEMU_TIMEOUT:-20}" "$qemu" -M mps2-an386 -display none -monitor none \
  -semihosting-config enable=on,target=native -serial stdio -kernel "$elf" \
  ${MQOTA_QEMU_EXTRA:-} </dev/null
status=$?

case $status in
  0) ;;
  99) echo "run-on-qemu: $elf faulted (status 99)" >&2 ;;
  124|137) echo "run-on-qemu: $elf hung, killed after ${MQOTA_QEMU_TIMEOUT:-20} s (status $status)" >&2 ;;
  134) echo "run-on-qemu: $elf locked up, QEMU aborted (status 134)" >&2 ;;
  *) echo "run-on-qemu: $elf exited with status $status" >&2 ;;
esac
exit $status
