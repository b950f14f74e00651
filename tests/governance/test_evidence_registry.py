"""The evidence-kind registry is the one list: every gating kind blocks the decision when its
verdict is missing, failed, unassessed or stale, and every place that names kinds agrees."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import yaml

from aisec_pipeline.ci_reports import CHECKS
from aisec_pipeline.evidence_kinds import GATING_NAMES, REGISTRY, gating_kinds_for
from aisec_pipeline.governance.decision import stamp
from aisec_pipeline.governance.policy import EVIDENCE_KINDS, POLICY_FILE
from aisec_pipeline.governance.regulations import EVIDENCE_KINDS as REGULATION_KINDS
from aisec_pipeline.inventory import load_model
from aisec_pipeline.inventory.schema import ModelKind
from aisec_pipeline.verdict import Status, Verdict

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def _model_of_kind(inv, kind: ModelKind):
    model = inv.add_model(f"a-{kind.value}")
    entry = yaml.safe_load(model.entry_file.read_text())
    entry["kind"] = kind.value
    if kind is ModelKind.CLASSIFIER:
        entry["evaluation"] = {"data": "data/eval.csv", "label": "y", "prediction": "p",
                               "segments": {"sex": ["f", "m"]}}
    if kind is ModelKind.LLM:
        entry["endpoint"] = {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m",
                             "system_prompt_file": "system_prompt.txt"}
    model.entry_file.write_text(yaml.safe_dump(entry))
    return load_model(model.folder)


def _passing(model):
    return {k.name: stamp(Verdict(k.name, Status.PASSED), NOW - timedelta(hours=1))
            for k in gating_kinds_for(model)}


BROKEN = {
    "missing": lambda kind: None,
    "failed": lambda kind: stamp(Verdict(kind, Status.FAILED, ("bad",)), NOW),
    "unassessed": lambda kind: stamp(Verdict(kind, Status.UNASSESSED, ("could not",)), NOW),
    "stale": lambda kind: stamp(Verdict(kind, Status.PASSED), NOW - timedelta(days=400)),
}


@pytest.mark.parametrize("model_kind", list(ModelKind))
@pytest.mark.parametrize("how", list(BROKEN))
def test_every_gating_kind_blocks_when_not_passed(gov_inventory, model_kind, how):
    model = _model_of_kind(gov_inventory, model_kind)
    assert gov_inventory.decide(model, _passing(model), NOW).approved
    for kind in gating_kinds_for(model):
        verdicts = {**_passing(model), kind.name: BROKEN[how](kind.name)}
        decision = gov_inventory.decide(model, verdicts, NOW)
        assert not decision.approved, (model_kind, kind.name, how)
        assert any(r.startswith(kind.name) for r in decision.reasons), decision.reasons


def test_evaluation_data_gates_classifiers(gov_inventory):
    model = _model_of_kind(gov_inventory, ModelKind.CLASSIFIER)
    assert "evaluation_data" in [k.name for k in gating_kinds_for(model)]
    failed = stamp(Verdict("evaluation_data", Status.FAILED, ("column y has nulls",)), NOW)
    decision = gov_inventory.decide(model, {**_passing(model), "evaluation_data": failed}, NOW)
    assert not decision.approved
    assert any("evaluation_data" in r and "nulls" in r for r in decision.reasons)


def test_deleting_a_policy_line_never_drops_a_gating_kind(gov_inventory):
    model = _model_of_kind(gov_inventory, ModelKind.CLASSIFIER)

    def drop_everything(policy):
        for tier in policy["tiers"].values():
            tier.pop("evidence", None)
    gov_inventory.edit_yaml(POLICY_FILE, drop_everything)  # signed by the governance owners
    verdicts = {**_passing(model)}
    del verdicts["bias_report"]
    decision = gov_inventory.decide(model, verdicts, NOW)
    assert decision.policy_version == 2 and not any(r.startswith("policy") for r in decision.reasons)
    assert not decision.approved and any(r.startswith("bias_report") for r in decision.reasons)


def test_every_name_list_derives_from_the_registry():
    assert set(EVIDENCE_KINDS) == set(GATING_NAMES)
    assert set(CHECKS) == set(GATING_NAMES) | {"governance"}
    assert {k.name for k in REGISTRY} <= set(REGULATION_KINDS)
    checks = [k.check for k in REGISTRY]
    assert len(set(checks)) == len(checks)


def test_an_unknown_kind_in_the_policy_is_refused(gov_inventory):
    from aisec_pipeline.inventory import InventoryError

    def typo(policy):
        policy["tiers"]["low"]["evidence"]["other"] = ["artifact_scna"]
    with pytest.raises(InventoryError, match="refusing to sign.*artifact_scna"):
        gov_inventory.edit_yaml(POLICY_FILE, typo)  # the owners' signing refuses it ...
    with pytest.raises(InventoryError, match="artifact_scna.*known: artifact_scan"):
        gov_inventory.policy()  # ... and the gate cannot load it


def test_observed_bytes_other_than_the_registry_block(gov_inventory):
    model = gov_inventory.add_model("swapped")
    rel = model.entry.artifacts[0].path
    decision = gov_inventory.decide(model, _passing(model), NOW, observed_sha256s={rel: "f" * 64})
    assert not decision.approved
    assert any("are not the registry's sha256" in r for r in decision.reasons)
    assert gov_inventory.decide(model, _passing(model), NOW,
                                observed_sha256s={rel: model.entry.artifacts[0].sha256}).approved
