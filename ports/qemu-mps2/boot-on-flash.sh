#!/bin/sh
# Boots a firmware on QEMU over a flash file: the board's flash map
# (board_flash.h) lives in the 16 MiB PSRAM at 0x21000000, and that PSRAM is
# a file (memory-backend-file, share=on), so what the firmware writes stays
# there across a system reset and from one QEMU run to the next
# (README.md#a-flash-that-survives-a-reset).
#
#   ports/qemu-mps2/boot-on-flash.sh QEMU ELF PRIMARY SECONDARY STEP...
#
# PRIMARY and SECONDARY are images written at the start of each slot of a
# fresh, erased (0xFF) flash; "-" leaves a slot erased. Then the STEPs, in
# order:
#   --run STATUS LINE...   one QEMU run (expect-uart.sh): exit status STATUS
#                          and these UART lines, in order, on the flash as the
#                          steps before left it
#   --primary-holds IMG    the primary slot holds IMG's image: its header,
#                          payload and TLVs, byte for byte (the padding and
#                          trailer of a pending image are not compared)
#   --secondary-holds IMG  the same for the secondary slot
#   --elf ELF              the runs after it boot ELF instead (e.g. the agent
#                          firmware downloads into the flash, then the
#                          bootloader installs what it left there)
# Exit: 0 when every step holds, 1 at the first that does not (2: usage).
set -u
if [ $# -lt 6 ]; then
  echo "usage: $0 QEMU ELF PRIMARY SECONDARY --run STATUS LINE... [--run ...] [--primary-holds IMG]" >&2
  exit 2
fi
here=$(dirname "$0")
qemu=$1
elf=$2
primary=$3
secondary=$4
shift 4

# board_flash.h: the slots at PSRAM offsets 0 and 128 KiB, 67 sectors of
# 4 KiB erased to 0xFF (slots, scratch, the agent's journal); QEMU wants the
# backend exactly the PSRAM's size.
slot_bytes=131072
flash_bytes=274432
psram_bytes=16777216

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
flash=$dir/psram.bin
head -c "$flash_bytes" /dev/zero | tr '\000' '\377' >"$flash"
truncate -s "$psram_bytes" "$flash"
put() {  # put IMG OFFSET
  [ "$1" = "-" ] && return 0
  if [ ! -f "$1" ]; then
    echo "boot-on-flash: no such image: $1" >&2
    exit 2
  fi
  dd if="$1" of="$flash" bs=4096 seek="$2" oflag=seek_bytes conv=notrunc status=none
}
put "$primary" 0
put "$secondary" "$slot_bytes"

# The bytes of IMG's image (docs/spec/mcuboot-image.md#image-layout):
# ih_hdr_size (u16 at 8) + ih_protect_tlv_size (u16 at 10) + ih_img_size (u32
# at 12) + the unprotected TLV area's it_tlv_tot (u16, 2 bytes into the area).
# Little endian, as od reads it on the hosts the tests run on.
image_bytes() {
  hdr=$(od -An -tu2 -j8 -N2 "$1")
  protected=$(od -An -tu2 -j10 -N2 "$1")
  img=$(od -An -tu4 -j12 -N4 "$1")
  tlv=$(od -An -tu2 -j$((hdr + img + protected + 2)) -N2 "$1")
  echo $((hdr + protected + img + tlv))
}

holds() {  # holds IMG OFFSET NAME
  if cmp -s -n "$(image_bytes "$1")" "$1" "$flash" 0 "$2"; then
    echo "boot-on-flash: the $3 slot holds $(basename "$1")"
  else
    echo "boot-on-flash: the $3 slot does not hold $1" >&2
    exit 1
  fi
}

export MQOTA_QEMU_EXTRA="${MQOTA_QEMU_EXTRA:-} -object memory-backend-file,id=psram,mem-path=$flash,size=$psram_bytes,share=on -machine memory-backend=psram"
run=0
while [ $# -gt 0 ]; do
  case $1 in
    --run)
      [ $# -ge 3 ] || { echo "boot-on-flash: --run needs STATUS and a LINE" >&2; exit 2; }
      want=$2
      shift 2
      # The run's lines: up to the next step. Lines may hold spaces, so they
      # go through a file, one a line, back into the arguments.
      : >"$dir/lines"
      while [ $# -gt 0 ]; do
        case $1 in --run | --primary-holds | --secondary-holds | --elf) break ;; esac
        printf '%s\n' "$1" >>"$dir/lines"
        shift
      done
      run=$((run + 1))
      echo "boot-on-flash: run $run"
      (
        set --
        while IFS= read -r line; do set -- "$@" "$line"; done <"$dir/lines"
        "$here/expect-uart.sh" "$qemu" "$elf" "$want" "$@"
      ) || exit 1
      ;;
    --primary-holds) holds "$2" 0 primary; shift 2 ;;
    --secondary-holds) holds "$2" "$slot_bytes" secondary; shift 2 ;;
    --elf)
      [ $# -ge 2 ] || { echo "boot-on-flash: --elf needs an ELF" >&2; exit 2; }
      elf=$2
      shift 2
      ;;
    *) echo "boot-on-flash: unknown step: $1" >&2; exit 2 ;;
  esac
done
exit 0
