from __future__ import annotations

from datetime import datetime, timedelta, timezone

import yaml

from aisec_pipeline.cards.parse import parse_card
from aisec_pipeline.cards.schema import CardHeader
from aisec_pipeline.cards.render import render_card, use_case_allowed
from aisec_pipeline.cards.validate import validate_card

SHA = "ab" * 32  # an artifact sha256
SPLITS = "| segment | fpr |\n|---|---|\n| sex=Female | 0.302 |\n| sex=Male | 0.303 |"
WHEN = datetime(2025, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))


def publish(write_card, header, entry, splits=SPLITS, body=None):
    source = validate_card(write_card(header, *([body] if body is not None else [])), entry)
    assert source.valid, source.problems
    text = render_card(source.card, measured_splits_markdown=splits, last_evaluated=WHEN,
                       artifact_sha256s={"artifacts/model.skops": SHA})
    return source, write_card_text(write_card, text)


def write_card_text(write_card, text):
    path = write_card({}, name="published.md")
    path.write_text(text, encoding="utf-8")
    return path


def test_rendered_card_round_trips(write_card, header, entry):
    source, published = publish(write_card, header, entry)
    result = validate_card(published, entry, published=True)
    assert result.valid, result.problems
    for field in CardHeader.model_fields:
        assert getattr(result.card.header, field) == getattr(source.card.header, field)
    parsed = parse_card(published).header
    for key in ("license", "language", "library_name", "tags", "datasets", "pipeline_tag",
                "model-index"):
        assert parsed[key] == header[key]
    assert parsed["last_evaluated"] == "2025-06-01T12:30:00Z"
    assert parsed["artifact_sha256s"] == {"artifacts/model.skops": SHA}
    assert list(parsed)[:3] == ["license", "language", "library_name"]  # HF keys stay first


def test_published_card_is_not_a_valid_hand_written_card(write_card, header, entry):
    _, published = publish(write_card, header, entry)
    problems = validate_card(published, entry).problems
    assert {p.split(":")[0] for p in problems} == {
        "last_evaluated", "artifact_sha256s", "reviewed_by", "body (Demographic performance splits)"}


def test_source_card_is_not_a_published_card(write_card, header, entry):
    problems = validate_card(write_card(header), entry, published=True).problems
    assert {p.split(":")[0] for p in problems} == {"last_evaluated", "artifact_sha256s"}


def test_split_table_replaces_the_section_and_keeps_the_rest(write_card, header, entry):
    _, published = publish(write_card, header, entry)
    body = parse_card(published).body
    section = body.split("## Demographic performance splits")[1].split("## Limitations")[0]
    assert SPLITS in section
    assert "The pipeline writes the measured splits here." not in body
    assert "## Model details" in body and "Do not use for decisions about people." in body
    assert body.count("## Demographic performance splits") == 1


def test_split_section_is_added_when_the_body_has_none(write_card, header, entry):
    _, published = publish(write_card, header, entry, body="# compas\n\nA model.\n")
    body = parse_card(published).body
    assert body.endswith(f"## Demographic performance splits\n\n{SPLITS}\n")


def test_not_applicable_and_not_measured_are_stated(write_card, header, entry, llm_entry):
    _, published = publish(write_card, header, entry, splits=None)
    assert "Not measured: no bias report" in parse_card(published).body
    header["demographic_splits"] = {"not_applicable": "Free-text chat model."}
    _, published = publish(write_card, header, llm_entry, splits=None)
    assert "Not applicable: Free-text chat model." in parse_card(published).body


def test_use_case_check(write_card, header, entry):
    card = validate_card(write_card(header), entry).card
    assert use_case_allowed(card, "fairness-teaching") == (
        True, "use case 'fairness-teaching' is validated for compas-recidivism 1.0.0")
    allowed, message = use_case_allowed(card, "bail-decisions")
    assert not allowed
    assert "'bail-decisions'" in message
    assert "pretrial-risk-research, fairness-teaching" in message
    allowed, message = use_case_allowed(card, None)
    assert not allowed and "must name one of" in message


def test_rendered_header_is_plain_yaml(write_card, header, entry):
    _, published = publish(write_card, header, entry)
    front = published.read_text(encoding="utf-8").split("---\n")[1]
    assert "!!" not in front  # no Python-specific tags: any HF tooling can read it
    assert yaml.safe_load(front)["owner"] == header["owner"]


def test_a_published_card_evaluated_in_the_future_is_invalid(write_card, header, entry):
    source = validate_card(write_card(header), entry)
    text = render_card(source.card, measured_splits_markdown=None,
                       last_evaluated=datetime(2099, 1, 1, tzinfo=timezone.utc),
                       artifact_sha256s={"artifacts/model.skops": SHA})
    problems = validate_card(write_card_text(write_card, text), entry, published=True).problems
    assert any(p.startswith("last_evaluated:") and "from the future" in p for p in problems), problems
