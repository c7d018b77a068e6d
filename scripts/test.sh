#!/bin/sh
# The test command: installs what is missing, builds, runs the default test
# suite through CTest and prints its summary. Extra arguments go to ctest
# (e.g. scripts/test.sh -R Signer). The long suites: ctest --test-dir build -L long
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec ctest --test-dir build --output-on-failure -j "$(nproc)" -LE long "$@"
