#!/bin/sh
# The demo: the reference example's whole story (v1.0.0 blinks at 1 Hz, the
# update to v1.1.0 blinks at 10 Hz, a bad v1.2.0 hangs, the watchdog fires, the
# device is back on v1.1.0 and 1.2.0 is not downloaded again) with a local
# mosquitto it starts itself. Installs what is missing and builds first.
# Arguments go to `mqota demo` (e.g. --plain, --workdir DIR; see --help).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/mqota demo "$@"
