#!/usr/bin/env python3
"""package.deb_clean_root (label long): the .deb installed with apt into a
clean Debian 12 root, then mqota-server run there as its own user.

    deb_chroot_test.py BUILD_DIR

Needs root (chroot), debootstrap and the Debian archive (deb.debian.org);
without one of them it says which and is skipped (exit 77). The clean root:
`debootstrap --variant=minbase --include=systemd bookworm`, made once and
kept as a tarball in BUILD_DIR/packaging/ (about 1.5 min), unpacked fresh for
every run. Then, in that root:
1. `apt-get install ./mqota_<version>_<arch>.deb`: apt resolves the package's
   Depends from the archive (a dependency the package forgot to declare would
   show as a missing library below); its postinst makes the user mqota with
   systemd-sysusers and /var/lib/mqota/catalog.
2. The user, the conffile as dpkg knows it, every program's libraries found,
   and `systemd-analyze verify` on the installed unit (the user exists here).
3. The service's ExecStart as the unit runs it: the user mqota, only
   `--config /etc/mqota/server.conf` (edited for a test port and board, with an
   image signed by the root's own `mqota image`), against the root's own
   mosquitto (from Recommends). It becomes ready, writes its registry and
   token in /var/lib/mqota, answers /metrics with that token, and exits 0 on
   SIGTERM.
4. `dpkg --purge mqota`: the programs and the configuration go; the registry
   and the user stay (postrm says why).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import Failure, check, free_port, quoted, run, set_option, stop, wait_until  # noqa: E402

SKIP = 77
MIRROR = "http://deb.debian.org/debian"


def skip(why):
    print(f"package.deb_clean_root: skipped: {why}")
    return SKIP


def in_root(root, *args, timeout=600, user=None):
    command = ["chroot"] + ([f"--userspec={user}"] if user else []) + [root] + list(args)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LANG": "C.UTF-8", "HOME": "/root"}
    return run(command, timeout=timeout, env=env)


def base_tarball(build):
    tarball = os.path.join(build, "packaging", "bookworm-minbase-systemd.tar")
    if os.path.isfile(tarball):
        return tarball
    os.makedirs(os.path.dirname(tarball), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="mqota-debootstrap-")
    try:
        start = time.monotonic()
        run(["debootstrap", "--variant=minbase", "--include=systemd", "bookworm", scratch, MIRROR],
            timeout=1200)
        os.chmod(scratch, 0o755)  # mkdtemp's 0700 would be the root's /
        run(["tar", "-C", scratch, "-cf", tarball + ".part", "."], timeout=300)
        os.rename(tarball + ".part", tarball)
        print(f"debootstrap (once, kept in {tarball}): {time.monotonic() - start:.0f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tarball


def mounted_under(root):
    with open("/proc/mounts", encoding="utf-8") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(root)]


def main():
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        return skip("chroot needs root")
    if not shutil.which("debootstrap"):
        return skip("debootstrap is not installed (apt-get install debootstrap)")
    try:
        urllib.request.urlopen(MIRROR + "/dists/bookworm/Release", timeout=10).close()
    except OSError as e:
        return skip(f"the Debian archive is not reachable: {e}")

    work = tempfile.mkdtemp(prefix="mqota-cleanroot-")
    root = os.path.join(work, "root")
    processes = []
    try:
        started = time.monotonic()
        tarball = base_tarball(build)
        os.makedirs(root)
        run(["tar", "-C", root, "-xf", tarball], timeout=300)
        os.chmod(root, 0o755)  # a system's /: the user mqota must get through it
        # Nothing the packages install may start a service in the root.
        with open(os.path.join(root, "usr/sbin/policy-rc.d"), "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(os.path.join(root, "usr/sbin/policy-rc.d"), 0o755)
        shutil.copy("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
        print(f"clean root ready: {time.monotonic() - started:.0f} s")

        out = os.path.join(work, "deb")
        run(["cpack", "-G", "DEB", "--config", os.path.join(build, "CPackConfig.cmake"), "-B", out],
            timeout=600, cwd=build)
        deb = [f for f in os.listdir(out) if f.endswith(".deb")]
        check(len(deb) == 1, f"cpack made {deb}")
        shutil.copy(os.path.join(out, deb[0]), os.path.join(root, "tmp", deb[0]))

        start = time.monotonic()
        in_root(root, "apt-get", "update", "-q")
        log = in_root(root, "apt-get", "install", "-y", "-q", f"/tmp/{deb[0]}")
        print(f"apt-get install ./{deb[0]} into the clean root: {time.monotonic() - start:.0f} s")
        installed = sorted(set(re.findall(r"^Setting up ([\w.+-]+):?\S* ", log, re.M)))
        print(f"apt installed {len(installed)} packages: {' '.join(installed)}")
        for package in ["mqota", "libmosquitto1", "libsqlite3-0", "mosquitto"]:
            check(package in installed, f"apt did not install {package}:\n{log}")
        status = in_root(root, "dpkg-query", "-W", "-f", "${Status} ${Version}\n", "mqota")
        check(status.startswith("install ok installed"), f"dpkg says: {status}")

        user = in_root(root, "getent", "passwd", "mqota").strip()
        check(user.startswith("mqota:x:") and ":/var/lib/mqota:" in user, f"the user: {user!r}")
        owner = in_root(root, "stat", "-c", "%U:%G %a", "/var/lib/mqota",
                        "/var/lib/mqota/catalog").split("\n")
        check(owner[:2] == ["mqota:mqota 750", "mqota:mqota 750"], f"state directory: {owner}")
        conffiles = in_root(root, "dpkg-query", "-W", "-f", "${Conffiles}\n", "mqota")
        check("/etc/mqota/server.conf" in conffiles, f"conffiles: {conffiles!r}")
        for program in ["mqota", "mqota-server", "mqota-board", "mqota-fleet-sim"]:
            ldd = in_root(root, "ldd", f"/usr/bin/{program}")
            check("not found" not in ldd, f"{program} in the clean root:\n{ldd}")
        verify = subprocess.run(["chroot", root, "systemd-analyze", "verify",
                                 "/usr/lib/systemd/system/mqota-server.service"],
                                capture_output=True, text=True, timeout=60)
        problems = [line for line in (verify.stdout + verify.stderr).splitlines()
                    if "mqota-server" in line]
        check(verify.returncode == 0 and not problems,
              f"systemd-analyze verify in the root:\n{verify.stdout}{verify.stderr}")
        print(f"installed: {status.split()[-1]}; user {user}; /var/lib/mqota {owner[0]}; "
              "conffile registered; every library found; systemd-analyze verify clean")

        # The root's own mosquitto, as the test's user, on a free port.
        broker_port = free_port()
        with open(os.path.join(root, "tmp/mosquitto.conf"), "w", encoding="utf-8") as f:
            f.write(f"user root\npersistence false\nlistener {broker_port} 127.0.0.1\n"
                    "allow_anonymous true\n")
        broker = subprocess.Popen(["chroot", root, "/usr/sbin/mosquitto", "-c", "/tmp/mosquitto.conf"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        processes.append(broker)
        in_root(root, "mqota", "image", "keygen", "-k", "/tmp/key.pem", "-t", "ed25519")
        with open(os.path.join(root, "tmp/app.payload"), "wb") as f:
            f.write(os.urandom(3000))
        in_root(root, "mqota", "image", "sign", "-k", "/tmp/key.pem", "-H", "0x400",
                "--pad-header", "--align", "8", "-v", "2.0.0", "-S", "0x20000", "/tmp/app.payload",
                "/var/lib/mqota/catalog/app-2.0.0.bin")
        api_port = free_port()
        config = os.path.join(root, "etc/mqota/server.conf")
        text = open(config, encoding="utf-8").read()
        for name, value in [("port", broker_port), ("board", quoted("CLEAN_ROOT_BOARD")),
                            ("api", quoted(f"127.0.0.1:{api_port}"))]:
            text = set_option(text, name, value)
        with open(config, "w", encoding="utf-8") as f:
            f.write(text)

        log_path = os.path.join(work, "server.log")
        with open(log_path, "w", encoding="utf-8") as log_file:
            server = subprocess.Popen(
                ["chroot", "--userspec=mqota:mqota", root, "/usr/bin/mqota-server", "--config",
                 "/etc/mqota/server.conf"],
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=log_file)
        processes.append(server)
        server_log = lambda: open(log_path, encoding="utf-8").read()  # noqa: E731
        wait_until(lambda: "ready: " in server_log() or server.poll() is not None, 20,
                   "mqota-server to be ready")
        check(server.poll() is None, f"mqota-server exited {server.returncode}:\n{server_log()}")
        token = open(os.path.join(root, "var/lib/mqota/fleet.db.token"), encoding="utf-8").read()
        request = urllib.request.Request(f"http://127.0.0.1:{api_port}/metrics")
        request.add_header("Authorization", "Bearer " + token.strip())
        with urllib.request.urlopen(request, timeout=5) as answer:
            check(answer.status == 200 and b"mqota_" in answer.read(), "/metrics did not answer")
        files = in_root(root, "stat", "-c", "%U %n", "/var/lib/mqota/fleet.db",
                        "/var/lib/mqota/fleet.db.token")
        check(files.count("mqota ") == 2, f"the state is not the user's: {files}")
        code = stop(server)
        check(code == 0, f"mqota-server exited {code} after SIGTERM:\n{server_log()}")
        print("mqota-server as the user mqota on /etc/mqota/server.conf alone: ready, registry "
              "and token in /var/lib/mqota, /metrics answered, SIGTERM: exit 0")
        stop(broker)

        in_root(root, "dpkg", "--purge", "mqota")
        gone = [p for p in ["usr/bin/mqota-server", "etc/mqota/server.conf",
                            "usr/lib/systemd/system/mqota-server.service"]
                if os.path.exists(os.path.join(root, p))]
        check(not gone, f"left after purge: {gone}")
        check(os.path.exists(os.path.join(root, "var/lib/mqota/fleet.db")),
              "purge removed the fleet's registry")
        print("dpkg --purge: programs, unit and configuration gone; the registry kept")
        print(f"package.deb_clean_root: passed in {time.monotonic() - started:.0f} s")
        return 0
    except Failure as e:
        print(f"package.deb_clean_root: FAILED: {e}")
        return 1
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                stop(process)
        if mounted_under(root):
            print(f"not removing {work}: still mounted: {mounted_under(root)}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
