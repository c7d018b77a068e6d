#!/bin/sh
# The demo: the reference example's whole story (v1.0.0 blinks at 1 Hz, the
# update to v1.1.0 blinks at 10 Hz, a bad v1.2.0 hangs, the watchdog fires, the
# device is back on v1.1.0) with a local mosquitto it starts itself.
set -eu
cd "$(dirname "$0")/.."
echo "demo: not available yet. mqota has its image tool (build/bin/mqota image ...)," >&2
echo "demo: but the bootloader, the device agent, the server and the virtual board that" >&2
echo "demo: the story needs are still being built. Run scripts/test.sh to see what works." >&2
exit 1
