#!/usr/bin/env bash
# README command 1: install what is missing, build, and run tartand on its
# embedded default config (virtual devices only; no NIC needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/hugepages.sh
bash scripts/build.sh
echo
echo "tartan: starting tartand on its built-in config (configs/tartan.yaml)."
echo "tartan: in another terminal: build/control/tartanctl health | stats | config"
echo
exec build/control/tartand "$@"
