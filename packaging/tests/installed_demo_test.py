#!/usr/bin/env python3
"""package.installed_demo: what the installed programs load at run time is
installed. `cmake --install` into a scratch prefix, then that tree's
`mqota demo --plain` (about 15 s): it finds mqota-server and mqota-board beside
itself and the signed demo firmware in <prefix>/share/mqota/firmware (there is
no build tree's firmware/ beside its bin/), and plays the story to its end.

    installed_demo_test.py BUILD_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import Failure, check, run  # noqa: E402


def main():
    build = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="mqota-install-demo-")
    try:
        prefix = os.path.join(work, "prefix")
        run(["cmake", "--install", build, "--prefix", prefix], timeout=300)
        check(not os.path.exists(os.path.join(prefix, "firmware")), "a firmware/ beside bin/")
        result = subprocess.run([os.path.join(prefix, "bin/mqota"), "demo", "--plain"],
                                capture_output=True, text=True, timeout=120, cwd=work)
        out = result.stdout + result.stderr
        check(result.returncode == 0 and "1.2.0 not downloaded again" in out and
              "nothing listening" in out, f"the installed demo: exit {result.returncode}:\n{out}")
        print("\n".join(out.splitlines()[-4:]))
        print("package.installed_demo: passed")
        return 0
    except Failure as e:
        print(f"package.installed_demo: FAILED: {e}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
