"""The demo inventory's asset graph, pinned: keys, dependencies, checks, owners, kinds, groups,
jobs, schedules and sensors. A change to the graph is a reviewed diff of asset_graph.json.

Update after an intended change, then review `git diff tests/orchestration/asset_graph.json`:

    AISEC_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/orchestration/test_asset_graph_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aisec_pipeline.orchestration.component import inventory_definitions

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).with_name("asset_graph.json")


def graph_of(root: Path) -> dict:
    defs = inventory_definitions(root)
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "checks": sorted(check.name for check in node.check_keys),
            "owners": sorted(node.owners),
            "kinds": sorted(node.kinds),
            "group": node.group_name,
            "observable": node.is_observable,
        }
    return {"assets": assets,
            "jobs": sorted(job.name for job in defs.jobs or ()),
            "schedules": sorted(s.name for s in defs.schedules or ()),
            "sensors": sorted(s.name for s in defs.sensors or ())}


def snapshot_text(graph: dict) -> str:
    """JSON with one line per asset, so a review diff shows exactly the assets that changed."""
    assets = ",\n".join(f"  {json.dumps(key)}: {json.dumps(value, sort_keys=True)}"
                         for key, value in graph["assets"].items())
    rest = "".join(f',\n "{name}": {json.dumps(graph[name])}' for name in ("jobs", "schedules", "sensors"))
    return '{\n "assets": {\n' + assets + "\n }" + rest + "\n}\n"


@pytest.fixture(scope="module")
def demo_graph() -> dict:
    return graph_of(REPO / "assets")


def test_the_asset_graph_matches_its_snapshot(demo_graph) -> None:
    if os.environ.get("AISEC_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(snapshot_text(demo_graph))
    assert demo_graph == json.loads(SNAPSHOT.read_text()), (
        "the asset graph changed: if intended, AISEC_UPDATE_SNAPSHOT=1 and review the diff")


def test_every_decision_depends_on_its_models_gating_evidence(demo_graph) -> None:
    """A check on the snapshot itself, so an update cannot quietly drop a gate input."""
    from aisec_pipeline.evidence_kinds import gating_kinds_for
    from aisec_pipeline.inventory import load_inventory

    for model in load_inventory(REPO / "assets"):
        decision = demo_graph["assets"][f"{model.name}/deployment_decision"]
        assert {f"{model.name}/{k.name}" for k in gating_kinds_for(model)} <= set(decision["deps"])
        assert "deployment_approved" in decision["checks"]
