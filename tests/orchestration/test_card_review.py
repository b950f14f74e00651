"""The card review is human and the card travels with the model, through the real gate:
a never-reviewed card blocks, a one-character edit after review blocks, a deleted review line does
not count (and the model_card check says so itself, never PASSED while the decision blames the
card's review), and production needs the same artifact and reviewed card approved in staging, in a
decision signed by a gate key, old enough for the policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import yaml
from inventory_builder import add_model, new_inventory, review_card, safetensors_bytes
from signing import demo_key, resign_policy

from aisec_pipeline.cli import main

pytestmark = pytest.mark.slow
GATE_KEY = str(demo_key("aisec demo gate"))


@pytest.fixture
def inventory(tmp_path):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path), reviewed=False)
    return root


def gate(root: Path, tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "gate.json"
    code = main(["gate", "clean-model", *args, "--inventory", str(root), "--json", str(out)])
    return code, json.loads(out.read_text())["models"][0]


def review(root: Path, by: str, decision: str = "approve") -> int:
    return main(["card", "review", "clean-model", "--key", str(demo_key(by)), "--decision", decision,
                 "--note", "read against the evaluation", "--inventory", str(root)])


def card_blamed_once(decision: dict, reason: str) -> bool:
    """The decision blames the card's review once, and the model_card check fails with it."""
    blamed = [r for r in decision["reasons"] if reason in r]
    return (decision["evidence"]["model_card"] == "failed" and len(blamed) == 1
            and blamed[0].startswith("model_card: failed: "))


def test_the_gate_needs_a_signed_review_of_the_exact_card(inventory, tmp_path, dagster_home, capsys):
    code, decision = gate(inventory, tmp_path)
    assert code == 1 and card_blamed_once(decision, "card never reviewed")
    assert any("card never reviewed" in r for r in decision["signoff_problems"])
    assert review(inventory, "Amara Okafor") == 1, "the owner reviewed their own card"
    assert "this needs one of: card_reviewer, committee_member" in capsys.readouterr().err
    assert main(["card", "review", "clean-model", "--by", "Zed Quux", "--decision", "approve",
                 "--note", "fine", "--inventory", str(inventory)]) == 1
    assert "it needs a signature" in capsys.readouterr().err
    assert review(inventory, "Jonas Weber") == 0
    code, decision = gate(inventory, tmp_path)
    assert code == 0, decision["reasons"]
    assert decision["evidence"]["model_card"] == "passed"
    assert decision["card_reviewers"] and decision["card_reviewers"][0].startswith("Jonas Weber on ")
    assert decision["signoff_problems"] == [] and any(
        line.startswith("card review: Jonas Weber on ") for line in decision["signoffs"])

    card = inventory / "models" / "clean-model" / "card.md"
    card.write_text(card.read_text().replace("Extracts totals", "Extracts total"))
    code, decision = gate(inventory, tmp_path)
    assert code == 1 and card_blamed_once(decision, "card changed since its review by Jonas Weber")


def test_a_deleted_review_line_does_not_count(inventory, tmp_path, dagster_home):
    review_card(inventory, "clean-model")
    assert gate(inventory, tmp_path)[0] == 0
    (inventory / "reviews" / "card_reviews.jsonl").write_text("")
    code, decision = gate(inventory, tmp_path)
    assert code == 1 and card_blamed_once(decision, "card never reviewed")


def test_a_requested_change_blocks_even_after_its_line_is_deleted(inventory, tmp_path, dagster_home):
    review_card(inventory, "clean-model")
    review_card(inventory, "clean-model", reviewer="Helen Okafor", decision="changes-requested")
    assert gate(inventory, tmp_path)[0] == 1
    log = inventory / "reviews" / "card_reviews.jsonl"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-1]))
    code, decision = gate(inventory, tmp_path)
    assert code == 1 and card_blamed_once(decision, "changes requested by Helen Okafor")
    assert "removed from the log" in " ".join(decision["reasons"]), "the remembered line binds"


def test_promotion_needs_a_gate_signed_approval(inventory, tmp_path, dagster_home, monkeypatch):
    review_card(inventory, "clean-model")
    assert gate(inventory, tmp_path, "--environment", "dev")[0] == 0  # no gate key: unsigned
    assert gate(inventory, tmp_path, "--environment", "staging")[0] == 1
    monkeypatch.setenv("AISEC_GATE_KEY", str(tmp_path / "missing.key"))
    code, decision = gate(inventory, tmp_path, "--environment", "dev")
    assert code == 1 and any("$AISEC_GATE_KEY" in r for r in decision["reasons"])


def test_a_forged_runless_approval_is_not_a_promotion(inventory, tmp_path, dagster_home, monkeypatch):
    import dagster as dg

    from aisec_pipeline.orchestration.gate import dagster_instance
    from aisec_pipeline.orchestration.model_assets import asset_key
    monkeypatch.setenv("AISEC_GATE_KEY", GATE_KEY)
    review_card(inventory, "clean-model")
    code, dev = gate(inventory, tmp_path, "--environment", "dev")
    assert code == 0
    forged = {**dev, "environment": "staging"}  # a copy of a real signed approval, re-labelled
    dagster_instance().report_runless_asset_event(dg.AssetMaterialization(
        asset_key("clean-model", "deployment_decision"), metadata={"decision": dg.MetadataValue.json(forged)}))
    code, decision = gate(inventory, tmp_path, "--environment", "production")
    assert code == 1 and any("approved in staging first" in r for r in decision["reasons"])


def test_policy_time_in_staging_stops_three_gates_in_a_row(inventory, tmp_path, dagster_home, monkeypatch):
    """The repository's policy wants a day in staging before production: one CI job gating
    dev, staging and production in a row is refused at production."""
    monkeypatch.setenv("AISEC_GATE_KEY", GATE_KEY)
    review_card(inventory, "clean-model")
    assert gate(inventory, tmp_path, "--environment", "dev")[0] == 0
    assert gate(inventory, tmp_path, "--environment", "staging")[0] == 0
    code, decision = gate(inventory, tmp_path, "--environment", "production")  # minutes after staging
    assert code == 1 and any("the policy needs 24 h there first" in r for r in decision["reasons"])


def no_waiting(inventory: Path) -> None:
    """The governance owners sign a policy without the day in staging (for the flow below)."""
    policy = inventory / "policies" / "policy.yaml"
    data = yaml.safe_load(policy.read_text())
    data["promotion"] = {}
    policy.write_text(yaml.safe_dump(data, sort_keys=False))
    resign_policy(inventory)


def test_production_needs_the_same_digests_approved_in_staging(inventory, tmp_path, dagster_home, capsys,
                                                               monkeypatch):
    monkeypatch.setenv("AISEC_GATE_KEY", GATE_KEY)
    no_waiting(inventory)
    review_card(inventory, "clean-model")
    code, decision = gate(inventory, tmp_path, "--environment", "production")
    assert code == 1 and any("approved in staging first" in r for r in decision["reasons"])
    assert gate(inventory, tmp_path, "--environment", "dev")[0] == 0
    assert gate(inventory, tmp_path, "--environment", "staging")[0] == 0

    card = inventory / "models" / "clean-model" / "card.md"
    card.write_text(card.read_text().replace("Extracts totals", "Extracts all totals"))
    review_card(inventory, "clean-model")  # reviewed again, but never through staging
    code, decision = gate(inventory, tmp_path, "--environment", "production")
    assert code == 1 and any("approved in staging first" in r for r in decision["reasons"])

    assert gate(inventory, tmp_path, "--environment", "staging")[0] == 1, "dev never saw this card"
    assert gate(inventory, tmp_path, "--environment", "dev")[0] == 0
    assert gate(inventory, tmp_path, "--environment", "staging")[0] == 0
    code, decision = gate(inventory, tmp_path, "--environment", "production")
    assert code == 0, decision["reasons"]
    assert decision["environment"] == "production"

    capsys.readouterr()
    assert main(["models", "--inventory", str(inventory)]) == 0
    out = capsys.readouterr().out
    for environment in ("dev", "staging", "production"):
        assert f"    {environment}" in out and "reviewed by Jonas Weber" in out
