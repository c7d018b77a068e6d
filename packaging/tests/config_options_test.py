#!/usr/bin/env python3
"""package.config_lists_every_option: the example configuration
(packaging/server.conf) shows every option of `mqota-server --help`, each on a
`name = value` line of its own (commented out or set), and nothing else; and
the help offers --config.

    config_options_test.py MQOTA_SERVER SERVER_CONF
"""
import re
import subprocess
import sys

# Options of the command line only: they cannot come from a file.
COMMAND_LINE_ONLY = {"help", "version", "config"}


def main():
    server, conf = sys.argv[1], sys.argv[2]
    help_text = subprocess.run([server, "--help"], capture_output=True, text=True, timeout=30,
                               check=True).stdout
    options = set(re.findall(r"^\s+(?:-\w,)?--([\w-]+)", help_text, re.M))
    # The positional argument: its name is the option's.
    options |= set(re.findall(r"^\s+(\w+)\s+TEXT:FILE \.\.\.", help_text, re.M))
    if "config" not in options or len(options) < 20:
        print(f"mqota-server --help does not read as expected (options: {sorted(options)})")
        return 1
    wanted = options - COMMAND_LINE_ONLY
    listed = set(re.findall(r"^#? ?([\w-]+) = ", open(conf, encoding="utf-8").read(), re.M))
    missing, unknown = sorted(wanted - listed), sorted(listed - wanted)
    for name in missing:
        print(f"{conf}: does not show the option '{name}' (a line '# {name} = <default>')")
    for name in unknown:
        print(f"{conf}: '{name}' is not an option of mqota-server")
    if missing or unknown:
        return 1
    print(f"{conf}: shows all {len(wanted)} options of mqota-server --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
