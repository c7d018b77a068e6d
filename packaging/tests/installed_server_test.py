#!/usr/bin/env python3
"""package.installed_server: `cmake --install` into a scratch prefix, then the
installed mqota-server started with nothing but `--config FILE`.

    installed_server_test.py BUILD_DIR

1. Installs the build into a temporary prefix and checks the tree: the four
   programs, the demo firmware, the unit (its ExecStart and --config name
   this prefix), the sysusers entry, the example configuration, the docs.
   With systemd-analyze on the machine, `systemd-analyze verify` on the unit.
2. Starts a mosquitto of its own and makes a catalog with the installed
   `mqota image` (a key and one signed image).
3. Copies the installed example configuration and sets, on the lines that
   show them, the catalog, an image file (the positional `images`), board,
   verify-key (a list), db, broker port, client id, API address and token
   file; then runs the installed mqota-server with only `--config` and checks
   what only that file could have told it: its API listens on the configured
   port, answers /metrics with the configured token (and refuses without it),
   and `mqota fleet images` lists both images under the configured board.
4. SIGTERM by pid: the server exits 0 within 10 s, having logged its stop.
5. A configuration with an unknown name is refused (exit 2, naming it) and the
   command line wins over the file.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import Failure, Mosquitto, check, free_port, quoted, run, set_option, stop, wait_until  # noqa: E402

PROGRAMS = ["mqota", "mqota-server", "mqota-board", "mqota-fleet-sim"]


def check_tree(build, prefix):
    for program in PROGRAMS:
        path = os.path.join(prefix, "bin", program)
        check(os.access(path, os.X_OK), f"{path} is not installed")
    firmware = ["demo-1.0.0.bin", "demo-1.1.0.bin", "demo-1.2.0.bin", "demo-signing-key.pub.pem"]
    if not os.path.isdir(os.path.join(build, "firmware")):  # -DMQOTA_DEMO_FIRMWARE=OFF
        firmware = []
    for name in firmware:
        path = os.path.join(prefix, "share/mqota/firmware", name)
        check(os.path.isfile(path), f"{path} is not installed")
    for name in ["README.md", "server.md", "cli.md", "board.md", "fleet-sim.md", "server.conf"]:
        path = os.path.join(prefix, "share/doc/mqota", name)
        check(os.path.isfile(path), f"{path} is not installed")
    check(os.path.isfile(os.path.join(prefix, "lib/sysusers.d/mqota.conf")), "no sysusers entry")
    config = os.path.join(prefix, "etc/mqota/server.conf")
    check(os.path.isfile(config), f"{config} is not installed")
    unit_path = os.path.join(prefix, "lib/systemd/system/mqota-server.service")
    unit = open(unit_path, encoding="utf-8").read()
    exec_start = f"ExecStart={prefix}/bin/mqota-server --config {config}\n"
    check(exec_start in unit, f"the unit does not say {exec_start!r}")
    for line in ["User=mqota\n", "StateDirectory=mqota\n", "Restart=on-failure\n"]:
        check(line in unit, f"the unit does not say {line!r}")
    analyze = shutil.which("systemd-analyze")
    if analyze:
        # Checks the syntax, every directive, and that ExecStart's program exists.
        result = subprocess.run([analyze, "verify", unit_path], capture_output=True, text=True,
                                timeout=60)
        text = result.stdout + result.stderr
        problems = [line for line in text.splitlines() if "mqota-server.service" in line]
        check(result.returncode == 0 and not problems, f"systemd-analyze verify:\n{text}")
        print("systemd-analyze verify: the unit is clean")
    else:
        print("systemd-analyze is not on this machine: the unit was not verified")
    print(f"installed tree complete under {prefix}")
    return config, unit_path


def http_get(url, token=None):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    build = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="mqota-install-")
    broker = server = None
    try:
        prefix = os.path.join(work, "prefix")
        start = time.monotonic()
        run(["cmake", "--install", build, "--prefix", prefix], timeout=300)
        print(f"cmake --install: {time.monotonic() - start:.1f} s")
        example, _ = check_tree(build, prefix)
        mqota = os.path.join(prefix, "bin/mqota")

        broker = Mosquitto(work)
        catalog = os.path.join(work, "catalog")
        os.makedirs(catalog)
        key = os.path.join(work, "signing.pem")
        run([mqota, "image", "keygen", "-k", key, "-t", "ed25519"])
        payload = os.path.join(work, "app.payload")
        with open(payload, "wb") as f:
            f.write(os.urandom(3000))
        run([mqota, "image", "sign", "-k", key, "-H", "0x400", "--pad-header", "--align", "8",
             "-v", "1.2.3", "-S", "0x20000", payload, os.path.join(catalog, "app-1.2.3.bin")])
        extra = os.path.join(work, "app-1.2.4.bin")  # the positional `images`, from the file
        run([mqota, "image", "sign", "-k", key, "-H", "0x400", "--pad-header", "--align", "8",
             "-v", "1.2.4", "-S", "0x20000", payload, extra])

        api_port = free_port()
        token = "package-test-operator-token"
        token_file = os.path.join(work, "operator.token")
        with open(token_file, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        text = open(example, encoding="utf-8").read()
        for name, value in [("catalog", f"[{quoted(catalog)}]"), ("images", f"[{quoted(extra)}]"),
                            ("board", quoted("PKG_BOARD")),
                            ("verify-key", f"[{quoted(key)}]"),
                            ("db", quoted(os.path.join(work, "fleet.db"))),
                            ("port", broker.port), ("client-id", quoted("pkg-test-server")),
                            ("api", quoted(f"127.0.0.1:{api_port}")),
                            ("api-token-file", quoted(token_file))]:
            text = set_option(text, name, value)
        config = os.path.join(work, "server.conf")
        with open(config, "w", encoding="utf-8") as f:
            f.write(text)

        log_path = os.path.join(work, "server.log")
        with open(log_path, "w", encoding="utf-8") as log:
            server = subprocess.Popen([os.path.join(prefix, "bin/mqota-server"), "--config", config],
                                      cwd=work, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        server_log = lambda: open(log_path, encoding="utf-8").read()  # noqa: E731
        wait_until(lambda: "ready: " in server_log() or server.poll() is not None, 20,
                   "mqota-server to be ready")
        check(server.poll() is None, f"mqota-server exited {server.returncode}:\n{server_log()}")
        print(f"mqota-server (pid {server.pid}) ready on --config alone")

        status, body = http_get(f"http://127.0.0.1:{api_port}/metrics", token)
        check(status == 200 and "mqota_" in body, f"/metrics with the token: {status} {body[:200]}")
        status, _ = http_get(f"http://127.0.0.1:{api_port}/metrics")
        check(status == 401, f"/metrics without a token answered {status}, not 401")
        images = run([mqota, "fleet", "images", "--api", f"http://127.0.0.1:{api_port}",
                      "--token-file", token_file])
        check("PKG_BOARD" in images and "1.2.3" in images and "1.2.4" in images,
              f"mqota fleet images does not list PKG_BOARD 1.2.3 and 1.2.4:\n{images}")
        print(f"API on the configured port {api_port}: /metrics 200 with the configured token, "
              "401 without; the catalog's image and the listed one, under the configured board")
        for line in [f"broker 127.0.0.1:{broker.port}", f"registry: {work}/fleet.db"]:
            check(line in server_log(), f"the log does not say '{line}':\n{server_log()}")

        started = time.monotonic()
        code = stop(server)
        check(code == 0, f"mqota-server exited {code} after SIGTERM:\n{server_log()}")
        check("Terminated: stopping" in server_log(), f"no stop logged:\n{server_log()}")
        print(f"SIGTERM: exit 0 in {time.monotonic() - started:.2f} s")
        server = None

        bad = os.path.join(work, "bad.conf")
        with open(bad, "w", encoding="utf-8") as f:
            f.write(text + "\ncatalogue = \"/nowhere\"\n")
        result = subprocess.run([os.path.join(prefix, "bin/mqota-server"), "--config", bad],
                                capture_output=True, text=True, timeout=30, cwd=work)
        check(result.returncode == 2 and
              f"{bad}: 'catalogue' is not an option of mqota-server" in result.stderr,
              f"an unknown name: exit {result.returncode}, {result.stderr!r}")
        # The command line wins: --api off, so no token is needed and no port taken;
        # --connect-timeout short against a port nothing listens on.
        closed = free_port()
        result = subprocess.run([os.path.join(prefix, "bin/mqota-server"), "--config", config,
                                 "--port", str(closed), "--connect-timeout", "0.5"],
                                capture_output=True, text=True, timeout=30, cwd=work)
        check(result.returncode == 1 and f"broker at 127.0.0.1:{closed}:" in result.stderr,
              f"--port over the file's: exit {result.returncode}, {result.stderr!r}")
        print("an unknown name in the file: exit 2 naming it; the command line wins over it")
        print("package.installed_server: passed")
        return 0
    except Failure as e:
        print(f"package.installed_server: FAILED: {e}")
        return 1
    finally:
        if server is not None:
            stop(server)
        if broker is not None:
            broker.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
