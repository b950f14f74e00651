from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aisec_pipeline.cards.parse import parse_card
from aisec_pipeline.cards.schema import CardHeader
from aisec_pipeline.cards.validate import card_verdict, validate_card
from aisec_pipeline.verdict import Status

SHA = "ab" * 32  # an artifact sha256

REQUIRED = list(CardHeader.model_fields)


def fields_in(problems) -> set[str]:
    return {p.split(":")[0] for p in problems}


def test_valid_card_passes_and_binds_to_artifacts(write_card, header, entry):
    path = write_card(header)
    result = validate_card(path, entry)
    assert result.valid, result.problems
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    verdict = card_verdict(result, {"artifacts/model.skops": SHA})
    assert verdict.status is Status.PASSED
    figures = verdict.figures
    assert figures["card_sha256"] == result.sha256
    assert figures["artifact_sha256s"] == {"artifacts/model.skops": SHA}
    assert figures["owner"] == "Amara Okafor"
    assert figures["validated_use_cases"] == ["pretrial-risk-research", "fairness-teaching"]
    assert len(figures["binding_sha256"]) == 64


def test_binding_changes_with_the_artifact(write_card, header, entry):
    result = validate_card(write_card(header), entry)
    one = card_verdict(result, {"m": SHA}).figures["binding_sha256"]
    other = card_verdict(result, {"m": "cd" * 32}).figures["binding_sha256"]
    assert one != other


@pytest.mark.parametrize("field", REQUIRED)
def test_each_missing_required_field_is_reported(write_card, header, entry, field):
    del header[field]
    result = validate_card(write_card(header), entry)
    assert not result.valid
    assert f"{field}: missing (required)" in result.problems


def test_several_missing_fields_are_all_reported_at_once(write_card, header, entry):
    for field in ("summary", "owner", "failure_modes", "incident_response"):
        del header[field]
    header["out_of_scope_uses"] = []
    header["validated_use_cases"][0]["id"] = "Not A Slug"
    result = validate_card(write_card(header), entry)
    assert {"summary", "owner", "failure_modes", "incident_response", "out_of_scope_uses",
            "validated_use_cases[0].id"} <= fields_in(result.problems)
    verdict = card_verdict(result, {"m": SHA})
    assert verdict.status is Status.FAILED
    assert verdict.reasons == result.problems


def test_near_miss_key_is_hinted(write_card, header):
    header["failure_mode"] = header.pop("failure_modes")
    problems = validate_card(write_card(header)).problems
    assert any("failure_modes: missing" in p and "'failure_mode'" in p for p in problems)


@pytest.mark.parametrize("name", ["team", "The Team", "ML Team", "ml-team", "ops", "admin",
                                  "Data Science", "Risk Committee", "Fraud Squad",
                                  "Analytics Group", "Amara", "Platform Ops", "MLTeam Leads"])
def test_group_alias_owner_names_rejected(write_card, header, name):
    header["owner"]["name"] = name
    problems = validate_card(write_card(header)).problems
    assert fields_in(problems) == {"owner.name"}, problems


@pytest.mark.parametrize("email", ["team@example.org", "ml-team@example.org", "ops@example.org",
                                   "admin@example.org", "support@example.org",
                                   "noreply@example.org", "info@example.org", "group@example.org",
                                   "all@example.org", "dl-risk@example.org", "riskteam@example.org",
                                   "not-an-email"])
def test_alias_emails_rejected(write_card, header, email):
    header["owner"]["email"] = email
    problems = validate_card(write_card(header)).problems
    assert fields_in(problems) == {"owner.email"}, problems


@pytest.mark.parametrize("name,email", [("Amara Okafor", "amara.okafor@example.org"),
                                        ("José María García-López", "jm.garcia@example.es"),
                                        ("Li Wei", "li.wei@example.cn")])
def test_named_person_accepted(write_card, header, name, email):
    header["owner"] = {"name": name, "email": email}
    assert validate_card(write_card(header)).valid


def test_hand_set_last_evaluated_rejected(write_card, header, entry):
    header["last_evaluated"] = "2025-01-01T00:00:00Z"
    problems = validate_card(write_card(header), entry).problems
    assert problems == (
        "last_evaluated: set by the pipeline, never by hand: remove it from the card",)


def test_hand_written_split_values_rejected(write_card, header):
    header["demographic_splits"] = {"sex": {"Female": {"fpr": 0.30}, "Male": {"fpr": 0.31}}}
    problems = validate_card(write_card(header)).problems
    assert len(problems) == 1 and problems[0].startswith("demographic_splits: a hand-written")


def test_hand_written_split_table_in_body_rejected(write_card, header):
    body = "## Demographic performance splits\n\n| group | fpr |\n|---|---|\n| F | 0.3 |\n"
    problems = validate_card(write_card(header, body)).problems
    assert len(problems) == 1 and "hand-written split table" in problems[0]


def test_hand_written_split_table_with_crlf_line_ends_rejected(write_card, header):
    """CRLF line ends once hid the table: its rows ended in "\r", which the row pattern refused."""
    path = write_card(header, "## Demographic performance splits ##\n\n| group | fpr |\n| F | 0.3 |\n")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    problems = validate_card(path).problems
    assert len(problems) == 1 and "hand-written split table" in problems[0], problems


def test_a_split_table_under_a_later_section_is_not_the_splits(write_card, header):
    body = ("## Demographic performance splits\n\nMeasured by the pipeline.\n\n"
            "## Limitations\n\n| a | b |\n")
    assert validate_card(write_card(header, body)).problems == ()


def test_name_and_version_must_match_the_entry(write_card, header, entry):
    header["model_name"] = "compas-v2"
    header["model_version"] = "1.0.1"
    result = validate_card(write_card(header), entry)
    assert fields_in(result.problems) == {"model_name", "model_version"}
    assert "'1.0.0'" in [p for p in result.problems if p.startswith("model_version")][0]


def test_unquoted_numeric_version_explained(write_card, header):
    header["model_version"] = 1.1
    problems = validate_card(write_card(header)).problems
    assert len(problems) == 1 and "quote the version" in problems[0]


def test_classifier_must_measure_splits_but_llm_may_not(write_card, header, entry, llm_entry):
    header["demographic_splits"] = {"not_applicable": "A chat model: outputs are free text."}
    path = write_card(header)
    assert fields_in(validate_card(path, entry).problems) == {"demographic_splits"}
    assert validate_card(path, llm_entry).valid


def test_duplicate_use_case_ids_rejected(write_card, header):
    header["validated_use_cases"][1]["id"] = "pretrial-risk-research"
    problems = validate_card(write_card(header)).problems
    assert len(problems) == 1 and "repeated: pretrial-risk-research" in problems[0]


def test_placeholders_left_from_the_template_rejected(write_card, header):
    header["summary"] = "TODO: write this"
    header["license"] = "<spdx-id>"
    assert fields_in(validate_card(write_card(header)).problems) == {"summary", "license"}


def test_missing_card_fails_with_its_path(tmp_path, entry):
    path = tmp_path / "card.md"
    result = validate_card(path, entry)
    verdict = card_verdict(result, {"m": SHA})
    assert verdict.status is Status.FAILED
    assert verdict.reasons == (f"no model card: {path}",)


def test_card_not_checked_against_entry_is_never_passed(write_card, header):
    verdict = card_verdict(validate_card(write_card(header)), {"m": SHA})
    assert verdict.status is Status.UNASSESSED


@pytest.mark.parametrize("hashes", [{}, {"m": "not-a-hash"}])
def test_card_without_good_artifact_hashes_is_never_passed(write_card, header, entry, hashes):
    verdict = card_verdict(validate_card(write_card(header), entry), hashes)
    assert verdict.status is Status.UNASSESSED


def test_template_has_every_field_and_cannot_pass_unedited():
    template = Path(__file__).resolve().parents[2] / "docs" / "model-card-template.md"
    header = parse_card(template).header
    assert set(REQUIRED) <= set(header)
    problems = validate_card(template).problems
    assert len(problems) >= len(REQUIRED)
    assert all("placeholder" in p or "does not match the pattern" in p for p in problems), problems
