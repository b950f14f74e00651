"""The evidence-kind registry is the one list: every gating kind blocks the decision when its
verdict is missing, failed, unassessed or stale, and every place that names kinds agrees."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from aisec_pipeline.ci_reports import CHECKS
from aisec_pipeline.evidence_kinds import (
    GATING_NAMES,
    READS_CARD,
    READS_EVALUATION,
    READS_POLICY,
    READS_REVIEWS,
    READS_SIGNATURE,
    READS_SYSTEM_PROMPT,
    REGISTRY,
    gating_kinds_for,
)
from aisec_pipeline.governance.decision import stamp
from aisec_pipeline.governance.policy import EVIDENCE_KINDS, POLICY_FILE
from aisec_pipeline.governance.regulations import EVIDENCE_KINDS as REGULATION_KINDS
from aisec_pipeline.inventory import load_model
from aisec_pipeline.inventory.schema import ModelKind
from aisec_pipeline.verdict import Status, Verdict

READS = {READS_POLICY, READS_CARD, READS_EVALUATION, READS_SYSTEM_PROMPT, READS_SIGNATURE, READS_REVIEWS}
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


# What the README promises, written out by hand: the registry must produce exactly this.
README_GATING = {
    ModelKind.CLASSIFIER: ["artifact_scan", "evaluation_data", "bias_report", "model_card"],
    ModelKind.LLM: ["artifact_scan", "injection_report", "model_card"],
    ModelKind.OTHER: ["artifact_scan", "model_card"],
}


@pytest.mark.parametrize("model_kind", list(ModelKind))
def test_gating_kinds_per_model_kind_are_the_readmes(gov_inventory, model_kind):
    model = _model_of_kind(gov_inventory, model_kind)
    assert [k.name for k in gating_kinds_for(model)] == README_GATING[model_kind]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    label = {ModelKind.CLASSIFIER: "classifiers", ModelKind.LLM: "LLMs", ModelKind.OTHER: "others"}
    assert f"{label[model_kind]}: {', '.join(README_GATING[model_kind])}" in " ".join(readme.split())


def test_every_consumer_covers_every_registered_kind():
    """Each table keyed by kind elsewhere must name every registered kind (and nothing else)."""
    from aisec_pipeline.orchestration.presentation import NUMBERS

    names = {k.name for k in REGISTRY}
    assert set(NUMBERS) == names, "orchestration/presentation.py NUMBERS"
    assert set(EVIDENCE_KINDS) == set(GATING_NAMES) == {k.name for k in REGISTRY if k.gates}
    assert set(CHECKS) == set(GATING_NAMES) | {"governance"}
    assert names <= set(REGULATION_KINDS)
    for kind in REGISTRY:
        assert kind.upstream == tuple(n for n in kind.upstream if n in names), kind.name
        assert set(kind.reads) <= set(READS), kind.name
    checks = [k.check for k in REGISTRY]
    assert len(set(checks)) == len(checks)


def test_the_sarif_rules_in_the_readme_are_the_gating_kinds():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    documented = re.findall(r"`aisec/([a-z_]+)`", readme)
    assert sorted(documented) == sorted([*GATING_NAMES, "governance"])


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


def test_kind_names_are_written_once():
    """Each domain stamps its verdicts with the registry's name (kind_names), never its own copy."""
    from aisec_pipeline import kind_names
    from aisec_pipeline.cards.validate import KIND as CARD
    from aisec_pipeline.fairness.drift import KIND as DRIFT
    from aisec_pipeline.fairness.validation import KIND as DATA
    from aisec_pipeline.redteam.evidence import KIND as INJECTION
    from aisec_pipeline.scanning.scanner import VERDICT_KIND as SCAN

    declared = {value for name, value in vars(kind_names).items() if name.isupper()}
    assert declared == {k.name for k in REGISTRY}
    assert {CARD, DRIFT, DATA, INJECTION, SCAN} <= declared


def test_every_input_a_kind_reads_maps_to_a_source_asset():
    """Every READS_* a kind may declare has a source asset (model file or governance file) and a
    description in the UI: a new input without them would fail here, not in a gate."""
    from aisec_pipeline import evidence_kinds
    from aisec_pipeline.orchestration.evidence import GOVERNANCE_INPUTS, MODEL_INPUTS
    from aisec_pipeline.orchestration.model_assets import INPUT_DESCRIPTIONS

    reads = {value for name, value in vars(evidence_kinds).items() if name.startswith("READS_")}
    assert reads == READS
    assert set(MODEL_INPUTS) | set(GOVERNANCE_INPUTS) == reads
    assert not set(MODEL_INPUTS) & set(GOVERNANCE_INPUTS)
    assert {"entry", "artifact", *MODEL_INPUTS.values()} <= set(INPUT_DESCRIPTIONS)
