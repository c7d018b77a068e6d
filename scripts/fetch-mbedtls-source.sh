#!/bin/sh
# Fetches the sources of mbedTLS from Debian's own archive (its source package)
# and extracts them into a cache folder, for the Cortex-M4 build
# (ports/mbedtls/cortex-m4/). Debian ships mbedTLS for the host only; the
# firmware compiles the library's C files itself, with a config of its own.
#
#   scripts/fetch-mbedtls-source.sh [CACHE_DIR]
#
# CACHE_DIR defaults to $MQOTA_CACHE_DIR, else /var/cache/mqota: a fixed place
# outside any build folder, so a fresh build/ does not fetch again. The
# extracted tree (dpkg-source -x: upstream's tarball with Debian's patches
# applied, as Debian builds it) lands in CACHE_DIR/mbedtls-<version>, and
# CACHE_DIR/mbedtls-source names that folder; a second run does nothing.
#
# The machine's apt sources list binary packages only. To fetch a source
# package without changing them, apt is pointed at a private sources and lists
# folder (a temporary one), with the archive URI read from the machine's own
# sources file: no host name lives in the project.
set -eu

cache=${1:-${MQOTA_CACHE_DIR:-/var/cache/mqota}}
package=mbedtls
marker="$cache/$package-source"

if [ -f "$marker" ] && [ -f "$(cat "$marker")/include/mbedtls/version.h" ]; then
  echo "fetch-mbedtls-source: cached in $(cat "$marker")"
  exit 0
fi

sources=/etc/apt/sources.list.d/debian.sources
. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
# The URI of the deb822 stanza that serves the release's own suite (not
# -security or -updates): its first URIs entry.
uri=$(awk -v suite="$suite" '
  /^[[:space:]]*$/ { if (u != "" && s) { print u; exit } u = ""; s = 0; next }
  /^URIs:/ { u = $2 }
  /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) s = 1 }
  END { if (u != "" && s) print u }' "$sources" | head -n 1)
if [ -z "$uri" ]; then
  echo "fetch-mbedtls-source: no URI for suite $suite in $sources" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/download"
cat >"$work/src.sources" <<EOF
Types: deb-src
URIs: $uri
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
opts="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$work -o Dir::State::Lists=$work/lists"
echo "fetch-mbedtls-source: fetching Debian's $package source package from $uri ($suite)"
# shellcheck disable=SC2086
apt-get $opts -q update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }
# shellcheck disable=SC2086
(cd "$work/download" && apt-get $opts -q source --download-only "$package")

dsc=$(ls "$work"/download/${package}_*.dsc | head -n 1)
version=$(basename "$dsc" .dsc | sed -e "s/^${package}_//" -e 's/-[^-]*$//')
dest="$cache/$package-$version"
mkdir -p "$cache"
rm -rf "$dest.partial"
# --no-check: apt has already checked every file against the archive's signed
# Release file (Signed-By above); the .dsc itself carries no signature we trust.
dpkg-source --no-check -x "$dsc" "$dest.partial" >"$work/extract.log" 2>&1 ||
  { cat "$work/extract.log" >&2; exit 1; }
# Only now the final name: an interrupted run leaves a .partial folder, never
# a half tree that a build would take for the real one.
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "$dest" >"$marker"
echo "fetch-mbedtls-source: $package $version in $dest"
