"""The Dagster UI, checked: the webserver loads the workspace and its GraphQL API shows every
model's assets, checks, sensors and schedules, and a gated model's check results."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from aisec_pipeline.cli import main
from inventory_builder import add_model, new_inventory, safetensors_bytes

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def inventory_root(tmp_path):
    return tmp_path / "assets"


@pytest.fixture
def webserver(tmp_path, dagster_home, monkeypatch, inventory_root):
    root = new_inventory(inventory_root)
    weights = safetensors_bytes(tmp_path)
    add_model(root, "clean-model", weights)
    add_model(root, "no-card", weights, card=False)
    monkeypatch.setenv("AISEC_INVENTORY", str(root))
    assert main(["gate", "--all", "--inventory", str(root)]) == 1
    port = free_port()
    env = {**os.environ, "AISEC_INVENTORY": str(root), "DAGSTER_HOME": str(dagster_home)}
    proc = subprocess.Popen([sys.executable, "-m", "dagster_webserver", "-w", str(REPO / "workspace.yaml"),
                             "-h", "127.0.0.1", "-p", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        wait_until_loaded(url, proc)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def gql(url: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(url, json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def wait_until_loaded(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the webserver exited"
        try:
            data = gql(url, "{ workspaceOrError { ... on Workspace { locationEntries { "
                            "locationOrLoadError { __typename } } } } }")
            entries = data["workspaceOrError"]["locationEntries"]
            if entries and entries[0]["locationOrLoadError"]:
                assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation", entries
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError("the webserver did not load the workspace in time")


def test_ui_shows_models_checks_sensors_schedules_and_results(webserver):
    nodes = gql(webserver, "{ assetNodes { assetKey { path } groupName "
                           "assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }")["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    for model in ("clean-model", "no-card"):
        for asset in ("artifact", "artifact_scan", "model_card", "deployment_decision"):
            assert f"{model}/{asset}" in keys, sorted(keys)
        checks = keys[f"{model}/deployment_decision"]["assetChecksOrError"]["checks"]
        assert checks == [{"name": "deployment_approved", "blocking": True}]

    repos = gql(webserver, "{ repositoriesOrError { ... on RepositoryConnection { nodes { "
                           "sensors { name } schedules { name } } } } }")["repositoriesOrError"]["nodes"]
    assert "new_model_versions" in {s["name"] for s in repos[0]["sensors"]}
    assert {"daily_production_drift", "weekly_injection_rescan"} <= {s["name"] for s in repos[0]["schedules"]}

    query = ("query($key: AssetKeyInput!, $check: String!) { assetCheckExecutions("
             "assetKey: $key, checkName: $check, limit: 1) { status } }")
    approved = gql(webserver, query, {"key": {"path": ["clean-model", "deployment_decision"]},
                                      "check": "deployment_approved"})
    blocked = gql(webserver, query, {"key": {"path": ["no-card", "deployment_decision"]},
                                     "check": "deployment_approved"})
    assert approved["assetCheckExecutions"][0]["status"] == "SUCCEEDED"
    assert blocked["assetCheckExecutions"][0]["status"] == "FAILED"


def stale_statuses(url: str, model: str) -> dict[str, str]:
    nodes = gql(url, "{ assetNodes { assetKey { path } staleStatus } }")["assetNodes"]
    return {n["assetKey"]["path"][1]: n["staleStatus"] for n in nodes if n["assetKey"]["path"][0] == model}


def materialized(key: list[str]) -> int:
    import dagster as dg

    return len(dg.DagsterInstance.get().fetch_materializations(dg.AssetKey(key), limit=100).records)


def test_dagster_stale_badges_agree_with_what_the_gate_remeasures(webserver, inventory_root):
    """Edit a card: Dagster marks exactly model_card stale, and the gate re-measures exactly that."""
    import dagster as dg

    from aisec_pipeline.inventory import load_model
    from aisec_pipeline.orchestration.evidence import input_versions, record_observations, sha256_or_missing

    evidence = ("artifact_scan", "model_card")
    assert {k: stale_statuses(webserver, "clean-model")[k] for k in evidence} == \
        {"artifact_scan": "FRESH", "model_card": "FRESH"}
    card = inventory_root / "models" / "clean-model" / "card.md"
    card.write_text(card.read_text().replace("Extracts totals", "Extracts the totals"))
    model = load_model(inventory_root / "models" / "clean-model")
    observed = {a.path: sha256_or_missing(model.path(a.path)) for a in model.entry.artifacts}
    record_observations(dg.DagsterInstance.get(), input_versions(model, inventory_root, observed))
    assert {k: stale_statuses(webserver, "clean-model")[k] for k in evidence} == \
        {"artifact_scan": "FRESH", "model_card": "STALE"}

    before = {k: materialized(["clean-model", k]) for k in evidence}
    assert main(["gate", "clean-model", "--inventory", str(inventory_root)]) == 1  # the card needs a new review
    after = {k: materialized(["clean-model", k]) for k in evidence}
    assert after == {"artifact_scan": before["artifact_scan"], "model_card": before["model_card"] + 1}
    assert {k: stale_statuses(webserver, "clean-model")[k] for k in evidence} == \
        {"artifact_scan": "FRESH", "model_card": "FRESH"}
