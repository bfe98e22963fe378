#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test suite;
# then the unit and dataplane suites under the sanitizers and every fuzz
# target for a bounded time (README "Hardening").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/hugepages.sh
bash scripts/build.sh
meson test -C build --print-errorlogs
bash scripts/test-sanitizers.sh
bash scripts/fuzz.sh
