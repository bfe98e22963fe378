#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer into ./build-fuzz, and runs
# each on its seed corpus (tests/fuzz/corpus/<target>) for a bounded time.
# A crash, leak, sanitizer report, timeout or broken invariant
# (tests/fuzz/fuzz_check.h) fails the run; its input is kept in
# build-fuzz/fuzz-artifacts/. Prints each target's executions.
#
# Usage: scripts/fuzz.sh [TARGET...]        (default: every target)
#   TARTAN_FUZZ_SECONDS  seconds per target (default 60; CI runs the default).
#                        A longer local run: TARTAN_FUZZ_SECONDS=3600 scripts/fuzz.sh fuzz_ingress
# Inputs that found new coverage go to build-fuzz/fuzz-corpus/<target>
# (the seed corpus in the repository is only read), so a later run goes on
# from where the last one stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${TARTAN_FUZZ_SECONDS:-60}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_ingress fuzz_egress fuzz_arp fuzz_nd fuzz_config fuzz_annotations fuzz_api fuzz_kube_watch
    fuzz_wireguard)
fi

build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  # Only the libraries and the fuzz targets: the suites are built elsewhere.
  CC=clang CXX=clang++ meson setup "$build" -Dfuzzing=true -Dtests=false -Dbenchmarks=false \
    -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/}"

# libFuzzer reports leaks and sanitizer findings itself and exits non-zero.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
artifacts=$build/fuzz-artifacts
# fuzz_api's subnet.env, which it removes as it exits normally.
export TMPDIR=$PWD/$build/fuzz-tmp
mkdir -p "$artifacts" "$TMPDIR"

summary=()
failed=()
for t in "${targets[@]}"; do
  work=$build/fuzz-corpus/$t
  log=$build/fuzz-logs/$t.log
  mkdir -p "$work" "$(dirname "$log")"
  echo "fuzz: $t for ${seconds}s (log: $log)"
  # One input may take long the first time (EAL and engine set-up), never
  # 30 s; -rss_limit_mb leaves room for the test EAL's 512 MiB.
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 \
    -rss_limit_mb=4096 -artifact_prefix="$artifacts/$t-" "$work" "tests/fuzz/corpus/${t#fuzz_}" \
    >"$log" 2>&1 &
  pid=$!
  rc=0
  wait "$pid" || rc=$?
  # The packet targets' EAL (tests/support/dpdk_test_env.cc) removes its
  # runtime directory on a normal exit, not when libFuzzer stops at a crash.
  rm -rf "/var/run/dpdk/tartan-test-$pid"
  execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log")
  per_s=$(awk '/stat::average_exec_per_sec:/ {print $2}' "$log")
  units=$(find "$work" -type f | wc -l)
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); the end of its log:"
    tail -n 60 "$log"
  fi
  summary+=("$(printf '%-18s %8s s %12s execs %8s/s %6s corpus units  %s' "$t" "$seconds" \
    "${execs:-?}" "${per_s:-?}" "$units" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)")")
done

echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $artifacts/)"
  exit 1
fi
