#!/bin/sh
# The host build under sanitizers, and the tests each one is for:
#
#   scripts/sanitize.sh asan   AddressSanitizer (+ LeakSanitizer) and UndefinedBehaviorSanitizer
#                              into build-asan/: the unit and integration suites.
#   scripts/sanitize.sh tsan   ThreadSanitizer into build-tsan/: the threaded host code, i.e.
#                              every integration test (MqttClient and its network thread, the
#                              agent runner, mqota-server's workers and housekeeping, and
#                              mqota-board running the demo firmware's LED and OTA threads)
#                              and the server's unit tests.
#
# Extra arguments go to ctest (e.g. -R ServerTest). The Cortex-M4 and fuzz
# sub-builds, the benchmarks and the end-to-end tests are left out (scripts/test.sh
# runs them; the fuzzers have ASan and UBSan of their own).
#
# A finding fails the run, in the test process or in any program it starts
# (mqota-server, mqota-board, the demo firmware, the mqota command): ASan,
# LSan and TSan write every report to <build>/sanitizer-reports/ (log_path),
# UBSan's are looked for in the tests' output, and all are printed at the end.
# UBSan does not recover, so its finding also fails the process. Findings in
# third-party code may be suppressed in tools/sanitizers/*.supp, each with its
# reason.
#
# Time budgets, in seconds (the run stops and fails beyond them):
#   MQOTA_SANITIZE_BUILD_TIMEOUT (default 1200), MQOTA_SANITIZE_TEST_TIMEOUT (default 600).
# Measured from a clean clone on 2 cores (.ci/run): asan 564 s to configure and
# build, 145 s of tests; tsan 265 s and 29 s.
set -eu
cd "$(dirname "$0")/.."

mode=${1:-}
[ $# -gt 0 ] && shift
case "$mode" in
  # ASan: no demo firmware (instrumented, it outgrows the board's slot), hence
  # no board tests.
  asan) build=build-asan; sanitize=address,undefined; firmware=OFF
        probe_flags=-fsanitize=address,undefined ;;
  tsan) build=build-tsan; sanitize=thread; firmware=ON; probe_flags=-fsanitize=thread ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan [ctest arguments]" >&2; exit 2 ;;
esac
build_budget=${MQOTA_SANITIZE_BUILD_TIMEOUT:-1800}
test_budget=${MQOTA_SANITIZE_TEST_TIMEOUT:-900}
root=$(pwd)

# Some kernels map memory where the sanitizer runtimes want their shadow
# (vm.mmap_rnd_bits > 28 on newer kernels: "FATAL: ThreadSanitizer: unexpected
# memory mapping"). A trivial program tells; if it fails, the whole run goes
# again without address-space randomisation (setarch -R, inherited by every
# child process).
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'int main(void) { return 0; }\n' > "$probe_dir/probe.c"
cc $probe_flags "$probe_dir/probe.c" -o "$probe_dir/probe"
if ! "$probe_dir/probe" > "$probe_dir/out" 2>&1; then
  if [ -z "${MQOTA_SANITIZE_NO_ASLR:-}" ] && setarch "$(uname -m)" -R true 2>/dev/null; then
    echo "sanitize: the $mode runtime cannot start here ($(head -n 1 "$probe_dir/out"));" \
         "running without address-space randomisation (setarch -R)"
    rm -rf "$probe_dir"
    MQOTA_SANITIZE_NO_ASLR=1 exec setarch "$(uname -m)" -R "$0" "$mode" "$@"
  fi
  echo "sanitize: the $mode runtime cannot start on this machine:" >&2
  cat "$probe_dir/out" >&2
  echo "sanitize: try: sudo sysctl vm.mmap_rnd_bits=28" >&2
  exit 1
fi

start=$(date +%s)
# Warnings are printed but not errors here: GCC's instrumentation makes its
# flow-based warnings misfire (e.g. -Wstringop-overflow on a plain
# vector::resize), and GCC's manual recommends against -Werror with
# sanitizers. The ordinary builds keep -Werror on the same code.
# Configured every time (quick once configured), so the options hold even in
# a tree someone reconfigured by hand.
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMQOTA_SANITIZE="$sanitize" \
      -DMQOTA_WERROR=OFF -DMQOTA_CROSS=OFF -DMQOTA_FUZZ=OFF -DMQOTA_BENCH=OFF -DMQOTA_E2E=OFF \
      -DMQOTA_DEMO_FIRMWARE="$firmware" > "$build/configure.log" ||
  { cat "$build/configure.log"; exit 1; }
# The build runs test binaries too (gtest_discover_tests), so the options below
# are already needed here.
reports="$root/$build/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
supp="$root/tools/sanitizers"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="log_path=$reports/tsan:suppressions=$supp/tsan.supp:print_suppressions=0:second_deadlock_stack=1"

status=0
timeout "$build_budget" cmake --build "$build" -j "$(nproc)" || status=$?
built=$(date +%s)
echo "sanitize $mode: configure + build took $((built - start)) s"

if [ "$status" -eq 0 ]; then
  # One budget for all the ctest runs below; --timeout is ctest's own limit
  # for each test that has none (the gtest cases have none).
  deadline=$((built + test_budget))
  run_ctest() {
    left=$((deadline - $(date +%s)))
    [ "$left" -gt 0 ] || { echo "sanitize $mode: out of time budget" >&2; status=124; return; }
    timeout "$left" ctest --test-dir "$build" --output-on-failure -j "$(nproc)" \
            --timeout 300 "$@" || status=$?
    # UBSan beside ASan ignores log_path (GCC 12 links them as two runtimes):
    # its reports are found in what the tests printed, passing tests included.
    runs=$((runs + 1))
    grep -n -B 2 -A 40 -E "runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer" \
         "$build/Testing/Temporary/LastTest.log" > "$reports/test-output.$runs" ||
      rm -f "$reports/test-output.$runs"
  }
  runs=0
  case "$mode" in
    asan) run_ctest -L '^(unit|integration)$' "$@" ;;
    tsan)
      # Every integration test runs threads (at least MqttClient's network
      # thread). Among the unit tests, only the server's (work queue,
      # scheduler, the fleet service, the HTTP API) and the SQLite registry's
      # are of threaded code; the device core has no threads, and its
      # matrices would take six more minutes under TSan.
      run_ctest -L '^integration$' "$@"
      suites=$( { "$build/bin/server_tests" --gtest_list_tests
                  "$build/bin/server_api_tests" --gtest_list_tests; } |
               sed -n 's/^\([^ ].*\)\.$/\1/p' | paste -s -d '|' -)
      run_ctest -L '^unit$' -R "^(($suites)\.|fleet\.Sqlite)" "$@"
      ;;
  esac
  echo "sanitize $mode: tests took $(($(date +%s) - built)) s"
fi

# Reports from processes that no test looked at (a server or an application
# the test only started) fail the run as well.
found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  for f in $found; do
    echo "=== sanitizer report: $f"
    cat "$f"
  done
  echo "sanitize $mode: $(echo "$found" | wc -l) sanitizer report(s), see above" >&2
  [ "$status" -ne 0 ] || status=1
fi
echo "sanitize $mode: total $(($(date +%s) - start)) s, exit status $status"
exit "$status"
