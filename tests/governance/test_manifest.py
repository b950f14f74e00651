"""Deployment manifests: safe YAML, schema-validated, matched against the registry entry."""

from __future__ import annotations

import pytest

from aisec_pipeline.governance.manifest import load_manifest, manifest_problems
from aisec_pipeline.inventory import InventoryError

GOOD = "model: ledger-bot\nversion: 1.0.0\nuse_case: invoice-triage\nenvironment: production\n"


def _write(tmp_path, text):
    path = tmp_path / "deployment.yaml"
    path.write_text(text)
    return path


def test_a_valid_manifest_matches_its_entry(tmp_path, gov_inventory):
    model = gov_inventory.add_model("ledger-bot")
    manifest = load_manifest(_write(tmp_path, GOOD))
    assert (manifest.model, manifest.use_case, manifest.environment) == (
        "ledger-bot", "invoice-triage", "production")
    assert manifest_problems(manifest, model) == []


def test_another_version_is_refused(tmp_path, gov_inventory):
    model = gov_inventory.add_model("ledger-bot", version="1.1.0")
    problems = manifest_problems(load_manifest(_write(tmp_path, GOOD)), model)
    assert problems and "'1.0.0'" in problems[0] and "'1.1.0'" in problems[0]


@pytest.mark.parametrize("text, field", [
    (GOOD + "replicas: 3\n", "replicas"),
    (GOOD.replace("use_case: invoice-triage\n", ""), "use_case"),
    (GOOD.replace("invoice-triage", "Invoice Triage"), "use_case"),
    (GOOD.replace("ledger-bot", "../escape"), "model"),
    ("- just\n- a list\n", "mapping"),
    ("model: !!python/object/apply:os.system ['echo pwned']\n", "invalid YAML"),
])
def test_bad_manifests_are_refused_naming_the_field(tmp_path, text, field):
    with pytest.raises(InventoryError, match=field):
        load_manifest(_write(tmp_path, text))
