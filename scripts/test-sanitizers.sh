#!/usr/bin/env bash
# The unit and dataplane suites, and the Kubernetes API server double's
# test, again, built with AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer into ./build-asan. Their EAL
# runs with --no-huge (tests/support/dpdk_test_env.cc), which ASan supports.
# Any report fails the run: UBSan is built not to recover
# (-fno-sanitize-recover, meson.build) and told to halt as ASan does.
# Nothing is suppressed.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-asan
if [ ! -f "$build/build.ninja" ]; then
  # -Dwerror=false: with sanitizers GCC warns falsely (-Wmaybe-uninitialized
  # in libstdc++'s <regex>, for one), and its manual recommends "against
  # combining -Werror and sanitizers". The warnings are enforced in ./build.
  meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false \
    -Dwerror=false
fi
# Only what the two suites and the API server double's test run: the unit
# suite's DocsAgreement tests run tartand and tartanctl --help, so those too,
# the unit suite's wireguard tests (engine/wireguard's crypto and protocol)
# are their own binary, and the dataplane suite's memif churn test runs
# tartan-perf as a peer.
ninja -C "$build" control/tartand control/tartanctl perf/tartan-perf tests/unit_tests \
  tests/wireguard_tests tests/dataplane_tests tests/flow_tests tests/kube_apiserver_tests

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:print_summary=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1
meson test -C "$build" --no-rebuild --print-errorlogs --suite unit --suite dataplane
# The Kubernetes API server double, which the kube tests run in process.
meson test -C "$build" --no-rebuild --print-errorlogs kube_apiserver
