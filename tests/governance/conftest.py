"""Fixtures for governance tests: a small real inventory with the repository's real policy files."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from inventory_builder import card_text
from signing import demo_signer, resign_policy

from aisec_pipeline.cards.review import PAYLOAD_TYPE as REVIEW_TYPE
from aisec_pipeline.cards.review import REVIEW_FILE, CardUnderReview, record_review
from aisec_pipeline.governance.committee import PAYLOAD_TYPE as COMMITTEE_TYPE
from aisec_pipeline.governance.committee import REGISTER_FILE, record_decision, sign_decision
from aisec_pipeline.governance.decision import GateFacts, decide, read_governance, stamp
from aisec_pipeline.governance.policy import POLICY_FILE, load_policy
from aisec_pipeline.governance.policy_trust import POLICY_LOG
from aisec_pipeline.governance.regulations import REGULATIONS_FILE
from aisec_pipeline.inventory import load_model
from aisec_pipeline.verdict import Status, Verdict

REPO_ASSETS = Path(__file__).resolve().parents[2] / "assets"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
# harm, reversibility -> the tier the repository's policy.yaml maps it to
TIER_RISKS = {"low": ("low", "high"), "medium": ("medium", "medium"), "high": ("high", "low")}
OWNER = "Amara Okafor"
# Card reviewers whose signed approvals satisfy each tier of the repository's policy.
REVIEWERS = {"low": ("Jonas Weber",), "medium": ("Jonas Weber",), "high": ("Jonas Weber", "Priya Raman")}
QUORUM = ("Priya Raman", "Helen Okafor")  # two committee members: the policy's quorum


class Inventory:
    def __init__(self, root: Path):
        self.root = root

    def add_model(self, name: str, tier: str = "low", category: str = "minimal",
                  files: dict[str, bytes] | None = None, version: str = "1.0.0",
                  reviewed: bool = True):
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
        (folder / "card.md").write_text(card_text(name, version, owner=OWNER), encoding="utf-8")
        model = load_model(folder)
        if reviewed:
            for reviewer in REVIEWERS[tier]:
                self.review(model, reviewer)
        return model

    def policy(self):
        return load_policy(self.root)

    def card(self, model) -> CardUnderReview:
        data = (model.folder / "card.md").read_bytes()
        return CardUnderReview(hashlib.sha256(data).hexdigest(), OWNER)

    def review(self, model, reviewer: str, decision: str = "approve", signer: str | None = "",
               at: datetime | None = None):
        """`reviewer`'s review signed by `signer`'s demo key (default: the reviewer's; None: unsigned)."""
        signer = reviewer if signer == "" else signer
        return record_review(self.root / REVIEW_FILE, subject=self.policy().subject(model.entry),
                             card=self.card(model), decision=decision, reviewer=reviewer,
                             note="checked against the evaluation",
                             sign=demo_signer(signer, REVIEW_TYPE) if signer else None,
                             now=at or NOW - timedelta(days=1))

    def record(self, model, decision: str = "approve", signers=QUORUM, digest: str | None = None,
               at: datetime | None = None, **fields):
        """A committee decision about `model` signed by `signers`' demo keys (none: unsigned)."""
        subject = self.policy().subject(model.entry)
        if digest is not None:
            from dataclasses import replace
            subject = replace(subject, digest=digest)
        fields.setdefault("rationale", "reviewed")
        fields.setdefault("members", list(QUORUM))
        fields.setdefault("decided_on", date(2026, 11, 1))
        path = self.root / REGISTER_FILE
        record = record_decision(path, subject=subject, decision=decision,
                                 sign=demo_signer(signers[0], COMMITTEE_TYPE) if signers else None,
                                 now=at or NOW - timedelta(hours=1), **fields)
        for other in signers[1:]:
            record = sign_decision(path, record.seq, demo_signer(other, COMMITTEE_TYPE))
        return record

    def facts(self, model, verdicts, now, **kw) -> GateFacts:
        policy = self.policy()
        kw.setdefault("card", self.card(model))
        return GateFacts(model, policy, read_governance(self.root, policy, now), verdicts, now, **kw)

    def decide(self, model, verdicts, now, **kw):
        return decide(self.facts(model, verdicts, now, **kw))

    def edit_yaml(self, relative: Path, change, sign: bool = True) -> None:
        """Change a YAML file; a policy change is signed by the governance owners unless `sign`
        is False (an unsigned change, which blocks every model)."""
        path = self.root / relative
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        if relative == POLICY_FILE and sign:
            resign_policy(self.root)


@pytest.fixture
def gov_inventory(tmp_path) -> Inventory:
    root = tmp_path / "assets"
    for relative in (POLICY_FILE, REGULATIONS_FILE, POLICY_LOG):
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
