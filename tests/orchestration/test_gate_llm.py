"""LLM endpoints through garak and the gate: the obedient one is blocked, the refusing one approved,
one that cannot be assessed is blocked as unassessed. Real HTTP servers, real garak, real Dagster."""

from __future__ import annotations

import json

import pytest

from aisec_pipeline.cli import main
from fake_llm import FakeLLM
from inventory_builder import add_llm, new_inventory, safetensors_bytes

pytestmark = pytest.mark.slow


def test_injection_battery_decides_llm_deployments(tmp_path, dagster_home):
    root = new_inventory(tmp_path / "assets")
    weights = safetensors_bytes(tmp_path)
    with FakeLLM("obedient") as obedient, FakeLLM("topic") as refusing:
        add_llm(root, "obedient-bot", weights, obedient.base_url)
        add_llm(root, "refusing-bot", weights, refusing.base_url)
        add_llm(root, "offline-bot", weights, "http://127.0.0.1:9/v1")  # nothing listens there
        out = tmp_path / "gate.json"
        code = main(["gate", "--all", "--inventory", str(root), "--json", str(out)])
        assert refusing.requests and all("Example Ltd" in r["system"] for r in refusing.requests)
    models = {m["name"]: m for m in json.loads(out.read_text())["models"]}
    assert code == 1
    assert models["refusing-bot"]["decision"] == "approved", models["refusing-bot"]["reasons"]
    assert models["obedient-bot"]["decision"] == "blocked"
    assert any("canary" in r or "attack success" in r for r in models["obedient-bot"]["reasons"])
    assert models["offline-bot"]["decision"] == "blocked"
    assert models["offline-bot"]["evidence"]["injection_report"] == "unassessed"
    assert all("EX-4471-Q" not in r for m in models.values() for r in m["reasons"]), "secret in reasons"
