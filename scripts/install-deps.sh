#!/bin/sh
# Installs the Debian packages mqota needs, only those missing. Runs
# `apt-get update` first (only when something is missing). Needs root, or
# sudo, for the install itself. Then fetches the mbedTLS sources the Cortex-M4
# build compiles (scripts/fetch-mbedtls-source.sh; cached, fetched once).
set -eu
here=$(dirname "$0")

packages="
  build-essential dpkg-dev cmake ninja-build pkg-config git python3
  libgtest-dev libgmock-dev libbenchmark-dev
  openssl libssl-dev libmbedtls-dev nlohmann-json3-dev libcli11-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  gcc-arm-none-eabi binutils-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-dev
  qemu-system-arm
  mosquitto mosquitto-clients libmosquitto-dev libsqlite3-dev libcpp-httplib-dev
  postgresql libpq-dev
  prometheus chromium chromium-driver python3-selenium
  libdivsufsort-dev bsdiff xdelta3
"

missing=""
for p in $packages; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $p" ;;
  esac
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo (packages:${missing:- none}; the mbedTLS source cache)" >&2; exit 1; }
  sudo=sudo
fi

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
else
  echo "install-deps: installing:$missing"
  $sudo apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
fi

# The default cache (/var/cache/mqota) needs root to create; MQOTA_CACHE_DIR
# points elsewhere.
$sudo env ${MQOTA_CACHE_DIR:+MQOTA_CACHE_DIR="$MQOTA_CACHE_DIR"} "$here/fetch-mbedtls-source.sh"
