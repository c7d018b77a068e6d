#!/usr/bin/env python3
"""Size table of a linked firmware, from its GNU ld map file, and a budget gate.

    size_report.py --map FW.map --name FW.elf
        prints one table: text, data and bss per part of the firmware
        (core: mqota's device libraries; crypto: mbedTLS and its backend;
        port: startup, console, flash driver, main; runtime: libc, libgcc;
        script: a test firmware's stand-in for the network, e.g. the
        agent core's scripted publisher and the image it serves)
    size_report.py --map FW.map --name FW.elf --budget-text N [--ceiling-text N]
                   [--budget-ram N] [--stack-line PREFIX --run CMD...]
        also runs CMD (the firmware on QEMU), reads the painted stack from the
        UART line "PREFIX <bytes>", and fails (exit 1) when text or static RAM
        (data + bss) without crypto exceeds its budget, printing by how much.
        The script is never counted: a device has no such code, it has an
        MQTT client (outside the budgets too) and a network.
        A budget the code does not meet yet is a known miss with a ceiling:
        the miss is printed on every run, and the gate is the ceiling (the
        size when the miss was recorded), so the firmware cannot grow while
        it is over budget; it fails too when the text falls far enough below
        the ceiling that the ceiling should come down.

Counted from the linker's map after --gc-sections: what the firmware really
holds, unlike `size` over the archives. text = code + read-only data (and the
vector table, exception index, init arrays); data = initialised RAM (it also
occupies flash, as in `size`); bss = zeroed RAM.
"""
import argparse
import os
import re
import subprocess
import sys

TEXT_SECTIONS = (".isr_vector", ".text", ".rodata", ".ARM.extab", ".ARM.exidx",
                 ".preinit_array", ".init_array", ".fini_array")
DATA_SECTIONS = (".data",)
BSS_SECTIONS = (".bss",)

CRYPTO = ("libmqota_mbedcrypto.a", "libmqota_crypto_mbedtls.a")
# The network of a test firmware, scripted (ports/qemu-mps2/agent_core).
SCRIPT = ("libmqota_qemu_mps2_script.a",)
CORE = ("libmqota_base.a", "libmqota_flash.a", "libmqota_image.a", "libmqota_boot.a",
        "libmqota_agent.a")
PARTS = ("core", "crypto", "port", "runtime", "script")

OUTPUT = re.compile(r"^(\.[\w.]+)\s")
# " .text.name  0xADDR  0xSIZE  file" or, when the name is long, the name on
# one line and "  0xADDR  0xSIZE  file" on the next.
INPUT_FULL = re.compile(r"^ (\.\S+|COMMON)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
INPUT_NAME = re.compile(r"^ (\.\S+|COMMON)\s*$")
INPUT_REST = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")


def part_of(path):
    archive = path.split("(")[0]
    name = os.path.basename(archive)
    if name in CRYPTO:
        return "crypto"
    if name in SCRIPT:
        return "script"
    if name in CORE:
        return "core"
    if "/arm-none-eabi/" in archive or name.startswith(("libc", "libgcc", "libm", "libnosys")):
        return "runtime"
    return "port"


def kind_of(output_section):
    if output_section in TEXT_SECTIONS:
        return "text"
    if output_section in DATA_SECTIONS:
        return "data"
    if output_section in BSS_SECTIONS:
        return "bss"
    return None


def measure(map_path):
    """(table by part, text by core library)"""
    table = {p: {"text": 0, "data": 0, "bss": 0} for p in PARTS}
    core_text = {}
    with open(map_path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("Linker script and memory map", 1)[-1].splitlines()
    output = None
    pending = None
    for line in lines:
        m = OUTPUT.match(line)
        if m:
            output = m.group(1)
            pending = None
            continue
        kind = kind_of(output)
        if kind is None:
            continue
        m = INPUT_FULL.match(line)
        if m:
            size, path = int(m.group(3), 16), m.group(4)
        elif pending and INPUT_REST.match(line):
            m = INPUT_REST.match(line)
            size, path = int(m.group(2), 16), m.group(3)
        else:
            pending = INPUT_NAME.match(line)
            continue
        pending = None
        if size and not path.startswith("*"):
            part = part_of(path)
            table[part][kind] += size
            if part == "core" and kind == "text":
                library = os.path.basename(path.split("(")[0])[len("libmqota_"):-len(".a")]
                core_text[library] = core_text.get(library, 0) + size
    return table, core_text


def print_table(name, table, core_text, stack):
    total = {k: sum(table[p][k] for p in PARTS) for k in ("text", "data", "bss")}
    print(f"size {name}:            text   data    bss")
    for p in PARTS:
        t = table[p]
        if p == "script" and not any(t.values()):
            continue  # a firmware without one: the table as before
        print(f"size {name}:   {p:<8} {t['text']:>7} {t['data']:>6} {t['bss']:>6}")
    print(f"size {name}:   {'total':<8} {total['text']:>7} {total['data']:>6} {total['bss']:>6}")
    # What the budgets count: everything but crypto and the script.
    nc = {k: total[k] - table["crypto"][k] - table["script"][k] for k in total}
    print(f"size {name}:   {'no-crypto':<8} {nc['text']:>7} {nc['data']:>6} {nc['bss']:>6}"
          f"   static RAM {nc['data'] + nc['bss']}")
    if any(table["script"].values()):
        print(f"size {name}:   no-crypto leaves the script out too: the scripted network, "
              f"not the device's code")
    detail = ", ".join(f"{lib} {n}" for lib, n in sorted(core_text.items(), key=lambda x: -x[1]))
    print(f"size {name}:   core text by library: {detail}")
    if stack is not None:
        print(f"size {name}:   peak stack {stack} bytes (painted, measured on QEMU)")
    return nc


def run_for_stack(command, prefix):
    out = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    for line in out.splitlines():
        if line.startswith(prefix + " "):
            return int(line[len(prefix) + 1:].split()[0])
    sys.stdout.write(out)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--budget-text", type=int)
    ap.add_argument("--ceiling-text", type=int)
    ap.add_argument("--budget-ram", type=int)
    ap.add_argument("--stack-line")
    ap.add_argument("--run", nargs=argparse.REMAINDER)
    args = ap.parse_args()

    table, core_text = measure(args.map)
    if sum(table[p]["text"] for p in PARTS) == 0:
        print(f"size_report: nothing measured in {args.map}", file=sys.stderr)
        return 1
    stack = None
    if args.run:
        stack = run_for_stack(args.run, args.stack_line)
        if stack is None:
            print(f"size_report: no '{args.stack_line} <bytes>' line from the run",
                  file=sys.stderr)
            return 1
    nc = print_table(args.name, table, core_text, stack)

    failed = False
    if args.budget_text is not None:
        over = nc["text"] - args.budget_text
        verdict = f"MISSED by {over} bytes" if over > 0 else f"ok, {-over} bytes to spare"
        print(f"budget {args.name}: text without crypto {nc['text']} <= {args.budget_text}: "
              f"{verdict}")
        if over > 0 and args.ceiling_text is not None:
            # A known miss: the gate is the ceiling it was recorded at.
            above = nc["text"] - args.ceiling_text
            if above > 0:
                print(f"budget {args.name}: text {nc['text']} is {above} bytes above its "
                      f"ceiling {args.ceiling_text}: the firmware grew while over budget")
                failed = True
            elif -above > 512:
                print(f"budget {args.name}: text {nc['text']} is {-above} bytes below its "
                      f"ceiling {args.ceiling_text}: lower the ceiling to keep the gain")
                failed = True
            else:
                print(f"budget {args.name}: known miss (ports/qemu-mps2/README.md#budgets); "
                      f"ceiling {args.ceiling_text}: ok")
        else:
            failed |= over > 0
    if args.budget_ram is not None:
        ram = nc["data"] + nc["bss"]
        over = ram - args.budget_ram
        verdict = f"MISSED by {over} bytes" if over > 0 else f"ok, {-over} bytes to spare"
        print(f"budget {args.name}: static RAM without crypto {ram} <= {args.budget_ram}: "
              f"{verdict}")
        failed |= over > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
