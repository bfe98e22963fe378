#!/usr/bin/env bash
# The side-by-side perf suite (perf/README.md): installs what is missing,
# builds, reserves hugepages and runs perf/suite/run_suite.py, which writes
# perf/RESULTS.md's suite section, perf/results/suite.json and the plots.
# Options go to run_suite.py (--help lists them). As root; about 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
TARTAN_HUGEPAGES=1024 bash scripts/hugepages.sh
bash scripts/build.sh
exec /usr/bin/python3 perf/suite/run_suite.py "$@"
