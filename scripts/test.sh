#!/usr/bin/env bash
# Set up, then run the whole test suite (unit and slow end-to-end tests) on parallel workers.
# Tests of one file share a worker (--dist loadfile), so module fixtures (demo builds, a Dagster
# deployment on PostgreSQL) are built once. AISEC_TEST_WORKERS=1 runs them one by one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system_deps.sh
workers="${AISEC_TEST_WORKERS:-3}"
if [ "$workers" -gt 1 ]; then
    exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
fi
exec .venv/bin/python -m pytest "$@"
