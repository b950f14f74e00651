"""Regulatory matrix, Annex IV documentation and the CycloneDX 1.6 AI bill of materials."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from aisec_pipeline.governance.committee import load_register
from aisec_pipeline.governance.pack import BiasPoint
from aisec_pipeline.governance.regulations import REGULATIONS_FILE, load_regulations
from aisec_pipeline.governance.regulatory import (ATTESTED, AUTOMATED, MISSING, BomModel,
                                                  EvidenceLink, ai_bom, annex_iv_markdown,
                                                  matrix_markdown, matrix_to_dict,
                                                  regulatory_matrix)

SCHEMAS = Path(__file__).parent / "schemas"
CARD = {
    "model_name": "hiring-screen", "model_version": "1.0.0",
    "summary": "Ranks applications for a recruiter to read first.",
    "owner": {"name": "Ada Byron", "email": "ada.byron@example.org"},
    "training_data": "2019-2024 applications, 41k rows", "evaluation_data": "2025 hold-out, 8k rows",
    "failure_modes": ["under-ranks career breaks"], "demographic_splits": "measured",
    "validated_use_cases": [{"id": "shortlist-order", "description": "order the reading queue"}],
    "out_of_scope_uses": ["automatic rejection"],
    "incident_response": {"runbook": "https://runbooks.example.org/hiring", "on_call": "Ada Byron",
                          "rollback": "switch to date order"},
}


def _links(*kinds):
    return {k: EvidenceLink(k, f"hiring-screen/{k}", f"run-{k}", "passed") for k in kinds}


@pytest.fixture
def hiring(gov_inventory):
    return gov_inventory.add_model("hiring-screen", tier="high", category="high-risk")


def _rows(matrix):
    return {row.id: row for row in matrix.rows}


def _register(inv):
    return load_register(inv.root, inv.policy())


def test_rows_are_automated_attested_or_missing(gov_inventory, hiring):
    regulations = load_regulations(gov_inventory.root)
    gov_inventory.record(hiring, "approve", members=["Priya Raman", "Helen Okafor"],
                         decided_on=date(2026, 11, 2))
    matrix = regulatory_matrix(hiring, regulations, _links("artifact_scan", "model_card"),
                               _register(gov_inventory))
    rows = _rows(matrix)
    assert len(matrix.rows) == 9 + 13
    assert rows["Art. 11 + Annex IV"].state == AUTOMATED
    assert rows["Art. 11 + Annex IV"].links[0].run_id == "run-model_card"
    assert rows["Art. 12"].state == MISSING and rows["Art. 12"].lacking == ("run_log",)
    assert rows["Art. 14"].state == ATTESTED
    assert rows["Art. 14"].attestation.who == ("Priya Raman", "Helen Okafor")
    assert rows["Art. 14"].attestation.when == date(2026, 11, 2)
    assert rows["Art. 9"].state == AUTOMATED and "injection_report" in rows["Art. 9"].lacking
    assert rows["Principle 13"].state == MISSING
    assert matrix.applies_from == date(2027, 12, 2)


def test_human_oversight_is_attested_by_verified_signatures_not_typed_names(gov_inventory, hiring):
    regulations = load_regulations(gov_inventory.root)
    gov_inventory.record(hiring, "approve", signers=(), members=["Ada Byron", "Alan Turing"],
                         decided_on=date(2026, 11, 2))  # typed names, nobody signed
    unsigned = _rows(regulatory_matrix(hiring, regulations, {}, _register(gov_inventory)))["Art. 14"]
    assert unsigned.state == MISSING and unsigned.attestation is None
    gov_inventory.record(hiring, "approve", members=["Ada Byron", "Alan Turing"],
                         decided_on=date(2026, 11, 3))  # the same names, signed by the quorum
    signed = _rows(regulatory_matrix(hiring, regulations, {}, _register(gov_inventory)))["Art. 14"]
    assert signed.state == ATTESTED and signed.attestation.who == ("Priya Raman", "Helen Okafor")


def test_a_tampered_register_attests_nothing(gov_inventory, hiring):
    from aisec_pipeline.governance.committee import REGISTER_FILE
    gov_inventory.record(hiring, "approve", decided_on=date(2026, 11, 2))
    path = gov_inventory.root / REGISTER_FILE
    path.write_text(path.read_text().replace('"reviewed"', '"rubber-stamped"'))
    matrix = regulatory_matrix(hiring, load_regulations(gov_inventory.root), {},
                               _register(gov_inventory))
    assert _rows(matrix)["Art. 14"].state == MISSING
    assert any("committee register tampered at line 1" in note for note in matrix.notes)


def test_without_committee_record_human_oversight_is_missing(gov_inventory, hiring):
    matrix = regulatory_matrix(hiring, load_regulations(gov_inventory.root), {}, None)
    assert _rows(matrix)["Art. 14"].state == MISSING
    assert {row.state for row in matrix.rows} == {MISSING}


def test_the_mapping_is_data(gov_inventory, hiring):
    def map_logging(data):
        data["eu_ai_act"]["obligations"][3]["evidence"] = ["run_log", "artifact_scan"]
    gov_inventory.edit_yaml(REGULATIONS_FILE, map_logging)
    matrix = regulatory_matrix(hiring, load_regulations(gov_inventory.root), _links("artifact_scan"))
    assert _rows(matrix)["Art. 12"].state == AUTOMATED


def test_markdown_and_json_exports(gov_inventory, hiring):
    matrix = regulatory_matrix(hiring, load_regulations(gov_inventory.root),
                               _links("bias_report", "incidents"))
    data = json.loads(json.dumps(matrix_to_dict(matrix)))
    assert data["model"] == "hiring-screen" and data["digest"] == hiring.entry.digest
    assert data["rows"][0]["state"] in (AUTOMATED, ATTESTED, MISSING)
    text = matrix_markdown(matrix)
    assert "## EU AI Act" in text and "## UK AI Cyber Security Code" in text
    assert "| Art. 73: Reporting of serious incidents | automated |" in text
    assert "run `run-incidents`" in text


def test_annex_iv_documents_card_evidence_and_gaps(gov_inventory, hiring, clean_verdicts, now):
    matrix = regulatory_matrix(hiring, load_regulations(gov_inventory.root), _links("model_card"))
    decision = gov_inventory.decide(hiring, clean_verdicts(), now)
    card = {k: v for k, v in CARD.items() if k != "training_data"}
    text = annex_iv_markdown(hiring, card, matrix, clean_verdicts(), decision)
    for expected in ("## 1. General description", "Ranks applications", "`shortlist-order`",
                     "under-ranks career breaks", "automatic rejection", hiring.entry.digest,
                     "## 9. Post-market monitoring", "Gate decision: **blocked**",
                     f"Model card reviewed: sha256 `{gov_inventory.card(hiring).sha256}`, by "
                     "Jonas Weber on 2026-11-24; Priya Raman on 2026-11-24.",
                     "_Not documented: add `training_data` to the model card._"):
        assert expected in text


def _validator():
    """The CycloneDX 1.6 schema, its `$ref`s to the SPDX and JSF schemas resolved offline."""
    registry = Registry()
    for name in ("bom-1.6.SNAPSHOT.schema.json", "spdx.SNAPSHOT.schema.json",
                 "jsf-0.82.SNAPSHOT.schema.json"):
        schema = json.loads((SCHEMAS / name).read_text())
        resource = Resource.from_contents(schema, default_specification=DRAFT7)
        registry = registry.with_resources([(f"http://cyclonedx.org/schema/{name}", resource),
                                            (schema["$id"], resource)])
    bom_schema = json.loads((SCHEMAS / "bom-1.6.SNAPSHOT.schema.json").read_text())
    return jsonschema.Draft7Validator(bom_schema, registry=registry,
                                      format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_ai_bom_is_valid_cyclonedx_1_6(gov_inventory, hiring, now):
    multi = gov_inventory.add_model("two-files", files={"weights/a.safetensors": b"a",
                                                         "tokenizer.json": b"{}"})
    metrics = [BiasPoint(date(2026, 11, 1), "sex=female", "fpr", 0.21, 0.18, 0.24)]
    bom = ai_bom([BomModel(hiring, "high", CARD, metrics=metrics), BomModel(multi, "low")], now)
    errors = sorted(_validator().iter_errors(bom), key=str)
    assert not errors, [e.message for e in errors[:5]]
    first, second = bom["components"]
    assert first["type"] == "machine-learning-model"
    assert first["hashes"] == [{"alg": "SHA-256", "content": hiring.entry.artifacts[0].sha256}]
    assert first["modelCard"]["quantitativeAnalysis"]["performanceMetrics"][0] == {
        "type": "fpr", "value": "0.2100", "slice": "sex=female",
        "confidenceInterval": {"lowerBound": "0.1800", "upperBound": "0.2400"}}
    assert first["modelCard"]["considerations"]["useCases"] == ["`shortlist-order`: order the reading queue"]
    assert "hashes" not in second and len(second["components"]) == 2
    digest_property = {p["name"]: p["value"] for p in second["properties"]}["aisec:artifact_digest"]
    assert digest_property == multi.entry.digest


def test_an_invalid_bom_fails_the_schema(gov_inventory, hiring, now):
    bom = ai_bom([BomModel(hiring, "high", CARD)], now)
    bom["components"][0]["hashes"][0]["alg"] = "SHA-257"
    assert list(_validator().iter_errors(bom))
