#!/usr/bin/env bash
# Set up, then run the whole test suite (unit and slow end-to-end tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system_deps.sh
exec .venv/bin/python -m pytest "$@"
