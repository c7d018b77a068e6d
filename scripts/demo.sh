#!/bin/sh
# The demo, two stories with a local mosquitto each starts itself. Installs
# what is missing and builds first.
#  1. The reference example's story on a virtual board: v1.0.0 blinks at
#     1 Hz, the update to v1.1.0 blinks at 10 Hz, a bad v1.2.0 hangs, the
#     watchdog fires, the device is back on v1.1.0 and 1.2.0 is not
#     downloaded again.
#  2. The fleet's story: 50 simulated devices, a release rolled out in waves,
#     then a bad one that halts itself on its canary.
# With arguments, only `mqota demo ARGS` runs (e.g. --plain, --fleet
# --devices 200, --workdir DIR; see build/bin/mqota demo --help).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
if [ "$#" -gt 0 ]; then
  exec build/bin/mqota demo "$@"
fi
build/bin/mqota demo
echo
exec build/bin/mqota demo --fleet
