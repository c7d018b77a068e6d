#!/usr/bin/env python3
"""Fails when a layer reaches up: an #include of a header from a layer above
it, or a CMake target linking a library of a layer above it.

The table below is docs/design.md's layer table as data; the two change
together. A layer's tests (<layer>/tests/) may also use the test helpers
(tests/support, "testing"), the real crypto and OS backends (ports) and the
host layer (to sign test images); production code never may.

Usage: check_layers.py [SOURCE_DIR]   (prints one line per violation; exit 1)
       check_layers.py --print        (prints the table)
       check_layers.py --self-test    (plants an upward include and link in a
                                       scratch tree and fails unless both are caught)
"""
import os
import re
import subprocess
import sys

DEVICE = ["base", "flash", "image", "boot", "delta", "agent"]
# layer -> the layers its production code may use (besides itself).
ALLOWED = {
    "base": [],
    "flash": ["base"],
    "image": ["base", "flash"],
    "boot": ["base", "flash", "image"],
    # delta: the patch format and its decoder; the agent drives it during a download.
    "delta": ["base", "flash", "image"],
    "agent": ["base", "flash", "image", "boot", "delta"],
    "ports": DEVICE,
    "host": DEVICE + ["ports"],
    "fleet": DEVICE + ["host"],
    "server": DEVICE + ["ports", "host", "fleet"],
    "board": DEVICE + ["ports", "host"],
    # The fleet simulator reaches a server only over MQTT: not server, nor fleet.
    "sim": DEVICE + ["ports", "host"],
    "app": DEVICE + ["ports", "board"],
    "cli": DEVICE + ["ports", "host", "fleet", "server", "board", "sim"],
    "testing": DEVICE + ["ports", "host"],
    "fuzz": DEVICE + ["ports", "host", "fleet", "server"],
    "tools": DEVICE,
    "bench": DEVICE + ["ports", "host", "fleet", "server", "board", "sim", "testing"],
    "e2e": DEVICE + ["ports", "host", "fleet", "server", "board", "sim", "app", "cli", "testing"],
}
# "mqota/<dir>/..." include roots that are not named after their layer.
INCLUDE_ROOT_LAYER = {"qemu_mps2": "ports"}
# Headers the build writes (not in the tree), by name, and their layer.
GENERATED = {"imgtool_ecdsa_image.h": "ports", "trusted_key.h": "ports", "demo_config.h": "app",
             "delta_old.h": "ports", "delta_new.h": "ports", "delta_patch.h": "ports",
             "scripted_update.h": "ports"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
TARGET_DEF = re.compile(r"\b(add_library|add_executable|mqota_add_gtest|mqota_device_library)\(\s*([\w.:-]+)")
ALIAS = re.compile(r"add_library\(\s*([\w:]+)\s+ALIAS\s+([\w-]+)\s*\)")
LINKS = re.compile(r"\btarget_link_libraries\(\s*([\w.-]+)([^)]*)\)", re.S)
GTEST_LIBS = re.compile(r"\bmqota_add_gtest\(\s*([\w.-]+)([^)]*)\)", re.S)


def tracked_files(root):
    try:
        # New files count before they are committed: what a build would see.
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, text=True, check=True).stdout
        return [f for f in out.splitlines() if os.path.exists(os.path.join(root, f))]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, _, names in os.walk(root):
            if "/build" in d or "/.git" in d:
                continue
            files += [os.path.relpath(os.path.join(d, n), root) for n in names]
        return files


def layer_of(path):
    """(layer, is_test) for a path relative to the source root."""
    parts = path.split("/")
    if parts[0] == "tests":
        return ("testing", False) if parts[1:2] == ["support"] else ("e2e", True)
    layer = parts[0]
    if layer not in ALLOWED:
        return None, False
    return layer, "tests" in parts[1:] or "selftest" in parts[1:]


def allowed_for(layer, is_test):
    allowed = set(ALLOWED[layer]) | {layer}
    if is_test:
        allowed |= {"testing", "host", "ports"}
    return allowed


def include_layer(include, including, files_by_suffix):
    if include.startswith("mqota/"):
        root = include.split("/")[1]
        return INCLUDE_ROOT_LAYER.get(root, root)
    # A local header: next to the including file, or under its layer's folder.
    here = os.path.normpath(os.path.join(os.path.dirname(including), include))
    if here in files_by_suffix["exact"]:
        return layer_of(here)[0]
    own = including.split("/")[0]
    if own == "tests":
        own = "/".join(including.split("/")[:2])
    for f in files_by_suffix.get(include, []):
        if f.startswith(own + "/"):
            return layer_of(f)[0]
    name = os.path.basename(include)
    return GENERATED.get(name)


def check_includes(root, files, problems):
    sources = [f for f in files if f.endswith((".h", ".cpp", ".c"))]
    index = {"exact": set(sources)}
    for f in sources:
        parts = f.split("/")
        for i in range(len(parts)):
            index.setdefault("/".join(parts[i:]), []).append(f)
    for f in sources:
        layer, is_test = layer_of(f)
        if layer is None:
            continue
        allowed = allowed_for(layer, is_test)
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as text:
            for number, line in enumerate(text, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = include_layer(m.group(1), f, index)
                if target is None:
                    problems.append(f'{f}:{number}: cannot tell which layer "{m.group(1)}" belongs to')
                elif target not in ALLOWED:
                    problems.append(f'{f}:{number}: "{m.group(1)}" is from unknown layer {target}')
                elif target not in allowed:
                    problems.append(f'{f}:{number}: {layer}{" test" if is_test else ""} includes '
                                    f'"{m.group(1)}" from {target}, a layer above it')


def check_links(root, files, problems):
    lists = [f for f in files if f.endswith("CMakeLists.txt") and f != "CMakeLists.txt"]
    target_layer, defs = {}, []
    for f in lists:
        folder = os.path.dirname(f)
        layer, _ = layer_of(folder + "/x")
        text = open(os.path.join(root, f), encoding="utf-8").read()
        text = re.sub(r"#[^\n]*", "", text)
        for kind, name in TARGET_DEF.findall(text):
            target_layer[name] = layer
        for alias, real in ALIAS.findall(text):
            target_layer[alias] = layer
        defs.append((f, layer, text))
    for f, layer, text in defs:
        if layer is None:
            continue
        tests = {name for name, _ in GTEST_LIBS.findall(text)}
        tests |= set(re.findall(r"add_executable\(\s*([\w.-]+)\s+tests/", text))
        uses = [(name, args.split("LIBS", 1)[1].split("LABELS")[0]) for name, args in GTEST_LIBS.findall(text)
                if "LIBS" in args]
        uses += LINKS.findall(text)
        for name, args in uses:
            is_test = name in tests
            allowed = allowed_for(layer, is_test)
            for lib in re.findall(r"\bmqota[_:][\w:]+", args):
                used = target_layer.get(lib)
                if used is None:
                    continue  # a target of the top-level file or a sub-build
                if used not in allowed:
                    problems.append(f"{f}: {name} ({layer}{' test' if is_test else ''}) links {lib} "
                                    f"from {used}, a layer above it")


def run_checks(root, files):
    problems = []
    check_includes(root, files, problems)
    check_links(root, files, problems)
    return problems


def self_test():
    import tempfile
    planted = {
        "host/CMakeLists.txt": "add_library(mqota_host STATIC src/files.cpp)\n"
                               "add_library(mqota::host ALIAS mqota_host)\n",
        "host/include/mqota/host/files.h": "#pragma once\n",
        "boot/CMakeLists.txt": "add_library(mqota_boot STATIC src/swap.cpp)\n"
                               "target_link_libraries(mqota_boot PUBLIC mqota::host)\n",
        "boot/src/swap.cpp": '#include "mqota/host/files.h"\n#include "mqota/boot/ok.h"\n',
        "boot/include/mqota/boot/ok.h": "#pragma once\n",
    }
    with tempfile.TemporaryDirectory() as root:
        for name, text in planted.items():
            os.makedirs(os.path.join(root, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(root, name), "w", encoding="utf-8") as f:
                f.write(text)
        problems = run_checks(root, sorted(planted))
    caught = [p for p in problems if "a layer above it" in p]
    print("\n".join(problems))
    if len(caught) != 2 or len(problems) != 2:
        print("check_layers --self-test: expected exactly the planted include and link")
        return 1
    print("check_layers --self-test: both planted upward dependencies caught")
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    if "--print" in argv:
        for layer, uses in ALLOWED.items():
            print(f"{layer:8} -> {', '.join(uses) or '(nothing)'}")
        return 0
    root = argv[1] if len(argv) > 1 else os.getcwd()
    files = tracked_files(root)
    problems = run_checks(root, files)
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} upward or unknown dependencies (see docs/design.md#layers)")
        return 1
    print(f"check_layers: {len(files)} files, every include and link points down")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
