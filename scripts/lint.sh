#!/bin/sh
# The style checks: clang-format over every tracked C++ file (no change
# allowed) and clang-tidy (.clang-tidy) over the production sources of every
# layer, with the compile commands of an existing build (default: build/).
# Any finding fails. The default suite runs both as CTest tests (check.format,
# check.tidy); on its own:
#   scripts/lint.sh [BUILD_DIR]        both checks
#   scripts/lint.sh --format           clang-format only (no build needed)
#   scripts/lint.sh --tidy [BUILD_DIR] clang-tidy only
# Fix formatting with scripts/format.sh. A clang-tidy finding is fixed in the
# code, or suppressed in place with NOLINT(<check>) and a comment saying why.
set -eu
cd "$(dirname "$0")/.."

format=1
tidy=1
build=build
for arg in "$@"; do
  case "$arg" in
    --format) tidy=0 ;;
    --tidy) format=0 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "lint: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) build=$arg ;;
  esac
done

check_format() {
  files=$(git ls-files '*.cpp' '*.h')
  unformatted=$(echo "$files" | xargs clang-format --dry-run 2>&1 | grep 'warning:' | cut -d: -f1 | sort -u)
  if [ -n "$unformatted" ]; then
    echo "$unformatted" | sed 's/^/lint: not formatted: /' >&2
    echo "lint: clang-format would change the files above (scripts/format.sh fixes them)" >&2
    return 1
  fi
  echo "lint: clang-format: $(echo "$files" | wc -l) files formatted"
}

check_tidy() {
  if [ ! -f "$build/compile_commands.json" ]; then
    echo "lint: $build/compile_commands.json is missing: build first (scripts/build.sh)" >&2
    return 1
  fi
  start=$(date +%s)
  # Production code of the host build: not tests, benchmarks, fuzzers or
  # tools. The Cortex-M4 port's few sources compile in the cross build only.
  sources=$(git ls-files '*.cpp' | grep -vE '(^|/)tests?/|^bench/|^fuzz/|^tools/|/selftest/|^ports/qemu-mps2/')
  log=$(mktemp)
  # run-clang-tidy colours its output; the colour codes go before matching.
  # shellcheck disable=SC2086
  run-clang-tidy -p "$build" -j "$(nproc)" -quiet $sources 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$log" || true
  findings=$(grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error):' "$log" | sort -u || true)
  rm -f "$log"
  if [ -n "$findings" ]; then
    echo "$findings" >&2
    echo "lint: clang-tidy: $(echo "$findings" | wc -l) findings in production code" >&2
    return 1
  fi
  echo "lint: clang-tidy: $(echo "$sources" | wc -w) production sources clean in $(($(date +%s) - start)) s"
}

status=0
if [ "$format" -eq 1 ]; then check_format || status=1; fi
if [ "$tidy" -eq 1 ]; then check_tidy || status=1; fi
exit $status
