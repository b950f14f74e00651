#!/usr/bin/env bash
# Set up, then run the main job: gate every model of the demo inventory through Dagster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The instance lives outside the checkout (the gate refuses one tracked by git), as `aisec` defaults.
export DAGSTER_HOME="${DAGSTER_HOME:-${XDG_STATE_HOME:-$HOME/.local/state}/aisec/dagster_home}"
# The demo gate signs its decisions with a published DEMO key (never trust it elsewhere), and
# trusts only the demo policy history's root (its first record's hash).
export AISEC_GATE_KEY="${AISEC_GATE_KEY:-$PWD/scripts/demo_keys/aisec-demo-gate.DEMO-ONLY.key}"
export AISEC_POLICY_ROOT="${AISEC_POLICY_ROOT:-$(head -1 assets/policies/policy_log.jsonl | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["hash"])')}"
status=0
# The demo judges this checkout's inventory with this checkout's own code: a development run.
# In CI the gate comes from the protected branch instead (README, "In CI").
.venv/bin/aisec gate --all --dev-run --json .aisec-gate.json || status=$?
echo
echo "Decisions written to .aisec-gate.json; browse evidence with:"
echo "  DAGSTER_HOME=$DAGSTER_HOME AISEC_GATE_KEY=$AISEC_GATE_KEY AISEC_POLICY_ROOT=$AISEC_POLICY_ROOT .venv/bin/dagster dev -w workspace.yaml"
# The demo inventory deliberately holds models that must be blocked, so exit 1 is the expected
# outcome of a correct gate; only a usage, inventory or internal error fails the demo.
if [ "$status" -gt 1 ]; then exit "$status"; fi
