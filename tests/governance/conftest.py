"""Fixtures for governance tests: a small real inventory with the repository's real policy files."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from aisec_pipeline.governance.decision import stamp
from aisec_pipeline.governance.policy import POLICY_FILE, load_policy
from aisec_pipeline.governance.regulations import REGULATIONS_FILE
from aisec_pipeline.inventory import load_model
from aisec_pipeline.verdict import Status, Verdict

REPO_ASSETS = Path(__file__).resolve().parents[2] / "assets"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
# harm, reversibility -> the tier the repository's policy.yaml maps it to
TIER_RISKS = {"low": ("low", "high"), "medium": ("medium", "medium"), "high": ("high", "low")}


class Inventory:
    def __init__(self, root: Path):
        self.root = root

    def add_model(self, name: str, tier: str = "low", category: str = "minimal",
                  files: dict[str, bytes] | None = None, version: str = "1.0.0"):
        folder = self.root / "models" / name
        files = files or {"artifacts/model.safetensors": f"weights of {name} {version}".encode()}
        artifacts = []
        for rel, data in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
            artifacts.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest()})
        harm, reversibility = TIER_RISKS[tier]
        eu = {"category": category}
        if category == "high-risk":
            eu["annex_iii_area"] = "Annex III point 4 (employment)"
        entry = {"name": name, "version": version, "kind": "other",
                 "description": f"test model {name}", "artifacts": artifacts,
                 "provenance": {"source": "internal://aisec/test"},
                 "risk": {"harm": harm, "reversibility": reversibility, "eu_ai_act": eu}}
        (folder / "model.yaml").write_text(yaml.safe_dump(entry), encoding="utf-8")
        return load_model(folder)

    def policy(self):
        return load_policy(self.root)

    def edit_yaml(self, relative: Path, change) -> None:
        path = self.root / relative
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.fixture
def gov_inventory(tmp_path) -> Inventory:
    root = tmp_path / "assets"
    for relative in (POLICY_FILE, REGULATIONS_FILE):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ASSETS / relative, root / relative)
    return Inventory(root)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def clean_verdicts():
    """Passed evidence of the kinds an `other` model needs, evaluated `age_hours` before NOW."""
    def make(age_hours: float = 1.0) -> dict[str, Verdict]:
        at = NOW - timedelta(hours=age_hours)
        return {kind: stamp(Verdict(kind, Status.PASSED), at)
                for kind in ("artifact_scan", "model_card")}
    return make
