#!/usr/bin/env python3
"""package.deb: `cpack -G DEB` from the build directory, then the package read
back with dpkg-deb.

    deb_test.py BUILD_DIR

Checks the file name (mqota_<version>_<arch>.deb), the files it installs (the
programs in /usr/bin, the unit, the sysusers entry, /etc/mqota/server.conf as
a conffile, the demo firmware and the public half of its key, the docs;
nothing from the build tree or the tests, and no private key), the control fields (Depends found by dpkg-shlibdeps: libmosquitto1,
libsqlite3-0, libssl3, libc6, libstdc++6...; Recommends mosquitto), the
maintainer scripts, and that the stripped programs it ships run: every
library they need is named in Depends, and mqota-server's --help offers
--config.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import Failure, check, run  # noqa: E402

EXPECTED_FILES = [
    "./usr/bin/mqota", "./usr/bin/mqota-server", "./usr/bin/mqota-board",
    "./usr/bin/mqota-fleet-sim",
    "./usr/lib/systemd/system/mqota-server.service", "./usr/lib/sysusers.d/mqota.conf",
    "./etc/mqota/server.conf",
    "./usr/share/mqota/firmware/demo-1.0.0.bin", "./usr/share/mqota/firmware/demo-1.1.0.bin",
    "./usr/share/mqota/firmware/demo-1.2.0.bin",
    "./usr/share/mqota/firmware/demo-signing-key.pub.pem",
    "./usr/share/doc/mqota/README.md", "./usr/share/doc/mqota/server.md",
    "./usr/share/doc/mqota/server.conf",
]
# The libraries the programs link, by the Debian package that holds them.
EXPECTED_DEPENDS = ["libc6", "libstdc++6", "libgcc-s1", "libmosquitto1", "libsqlite3-0", "libssl3",
                    "passwd"]


def owner(path):
    """The package that holds a library, by any of its names (/lib is /usr/lib,
    a soname is a link to the file)."""
    names = []
    for name in [path, os.path.realpath(path)]:
        names += [name, name[4:] if name.startswith("/usr/") else "/usr" + name]
    for name in names:
        found = subprocess.run(["dpkg", "-S", name], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":")[0]
    raise Failure(f"{path} belongs to no package")


def main():
    build = os.path.abspath(sys.argv[1])
    out = tempfile.mkdtemp(prefix="mqota-deb-")
    try:
        version = re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(.*)$",
                            open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8").read(),
                            re.M)
        version = version.group(1) if version else "0.1.0"
        arch = run(["dpkg", "--print-architecture"]).strip()
        start = time.monotonic()
        run(["cpack", "-G", "DEB", "--config", os.path.join(build, "CPackConfig.cmake"), "-B", out],
            timeout=600, cwd=build)
        print(f"cpack -G DEB: {time.monotonic() - start:.1f} s")
        deb = os.path.join(out, f"mqota_{version}_{arch}.deb")
        check(os.path.isfile(deb), f"no {os.path.basename(deb)} in {os.listdir(out)}")
        print(f"{os.path.basename(deb)}: {os.path.getsize(deb) // 1024} KiB")

        listing = run(["dpkg-deb", "-c", deb])
        files = {line.split()[-1] for line in listing.splitlines() if line.strip()}
        expected = EXPECTED_FILES
        if not os.path.isdir(os.path.join(build, "firmware")):  # -DMQOTA_DEMO_FIRMWARE=OFF
            expected = [f for f in expected if "/firmware/" not in f]
        for name in expected:
            check(name in files, f"the package does not hold {name}:\n{listing}")
        for name in files:
            check(name.startswith(("./usr/", "./etc/")) or name == "./",
                  f"the package installs outside /usr and /etc: {name}")
            check(not re.search(r"test|bench|fuzz|/build/|\.a$|\.h$", name),
                  f"the package holds something that is not for users: {name}")
        check(re.search(r"^-rwxr-xr-x root/root .* \./usr/bin/mqota-server$", listing, re.M),
              "/usr/bin/mqota-server is not root-owned 0755")
        print(f"{len([f for f in files if not f.endswith('/')])} files, all expected ones there")

        depends = run(["dpkg-deb", "-f", deb, "Depends"]).strip()
        names = {re.split(r"[ (]", d.strip())[0] for d in depends.split(",")}
        for package in EXPECTED_DEPENDS:
            check(package in names, f"Depends lacks {package}: {depends}")
        recommends = run(["dpkg-deb", "-f", deb, "Recommends"]).strip()
        check("mosquitto" in recommends, f"Recommends: {recommends!r}")
        print(f"Depends: {depends}\nRecommends: {recommends}")

        control = os.path.join(out, "control")
        run(["dpkg-deb", "-e", deb, control])
        conffiles = open(os.path.join(control, "conffiles"), encoding="utf-8").read().split()
        check(conffiles == ["/etc/mqota/server.conf"], f"conffiles: {conffiles}")
        for script in ["postinst", "prerm", "postrm"]:
            path = os.path.join(control, script)
            check(os.access(path, os.X_OK), f"no executable {script}")
            run(["sh", "-n", path])
        print("conffiles: /etc/mqota/server.conf; postinst, prerm, postrm present and parse")

        root = os.path.join(out, "root")
        run(["dpkg-deb", "-x", deb, root])
        # A private key in a package is anybody's: the demo ships the public
        # half of its signing key only.
        for directory, _, entries in os.walk(root):
            for name in entries:
                path = os.path.join(directory, name)
                if os.path.islink(path):
                    continue
                with open(path, "rb") as f:
                    data = f.read()
                if data.startswith(b"\x7fELF"):
                    continue  # mqota's key loader names the PEM headers it reads
                check(not re.search(rb"^-----BEGIN [A-Z ]*PRIVATE KEY-----", data, re.M),
                      f"the package holds a private key: {os.path.relpath(path, root)}")
        print("no private key in the package")
        unit = open(os.path.join(root, "usr/lib/systemd/system/mqota-server.service"),
                    encoding="utf-8").read()
        check("ExecStart=/usr/bin/mqota-server --config /etc/mqota/server.conf\n" in unit,
              "the packaged unit does not start /usr/bin/mqota-server --config /etc/mqota/server.conf")
        for program in ["mqota", "mqota-server", "mqota-board", "mqota-fleet-sim"]:
            path = os.path.join(root, "usr/bin", program)
            ldd = run(["ldd", path])
            check("not found" not in ldd, f"{program}: a library is missing:\n{ldd}")
            sections = run(["readelf", "-S", path])
            check(".debug_info" not in sections, f"{program} is not stripped")
            # What the program itself links (NEEDED), not what those libraries
            # link: their packages declare that.
            paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]",
                                run(["readelf", "-d", path]))
            check(needed and all(n in paths for n in needed), f"{program}: NEEDED {needed}")
            owners = {owner(paths[n]) for n in needed}
            missing = sorted(owners - names)
            check(not missing, f"{program} needs {missing}, not in Depends: {depends}")
        help_text = run([os.path.join(root, "usr/bin/mqota-server"), "--help"])
        check("--config" in help_text, "mqota-server --help does not offer --config")
        print("the shipped programs are stripped, and every library they load is in Depends")
        print("package.deb: passed")
        return 0
    except Failure as e:
        print(f"package.deb: FAILED: {e}")
        return 1
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
