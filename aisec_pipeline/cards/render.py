"""The card as the pipeline publishes it, and the deployment's use-case check.

The published card keeps every Hugging Face key as written, and adds what only the pipeline may
set: `last_evaluated`, the artifacts' sha256 and the measured demographic split table.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import yaml

from .parse import SPLITS_HEADING, splits_section_span
from .schema import PIPELINE_KEYS, Card, CardHeader

NOT_MEASURED = "Not measured: no bias report was available when this card was published."


def render_card(card: Card, *, measured_splits_markdown: str | None, last_evaluated: datetime,
                artifact_sha256s: dict[str, str], reviewed_by: list[dict[str, str]] = ()) -> str:
    """Markdown with an HF-compatible YAML header. `card` must come from a valid validation.
    `reviewed_by`: the approving reviews of these exact card bytes (reviewer, on, card_sha256)."""
    if last_evaluated.tzinfo is None:
        raise ValueError("last_evaluated must carry a time zone")
    header = _published_header(card.header, last_evaluated, artifact_sha256s)
    header["reviewed_by"] = [dict(review) for review in reviewed_by]
    front = yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=100)
    splits = _splits_text(card.header, measured_splits_markdown)
    return f"---\n{front}---\n{_with_splits_section(card.body, splits)}"


def _published_header(header: CardHeader, last_evaluated: datetime,
                      artifact_sha256s: dict[str, str]) -> dict[str, Any]:
    data = header.model_dump()
    extras = [k for k in header.model_extra or {} if k not in PIPELINE_KEYS]
    ordered = {k: data[k] for k in extras} | {k: data[k] for k in CardHeader.model_fields}
    stamp = last_evaluated.astimezone(timezone.utc).isoformat(timespec="seconds")
    return ordered | {"last_evaluated": stamp.replace("+00:00", "Z"),
                      "artifact_sha256s": dict(sorted(artifact_sha256s.items()))}


def _splits_text(header: CardHeader, measured_splits_markdown: str | None) -> str:
    if measured_splits_markdown and measured_splits_markdown.strip():
        return measured_splits_markdown.strip()
    if header.splits_apply:
        return NOT_MEASURED
    return f"Not applicable: {header.demographic_splits.not_applicable}"  # type: ignore[union-attr]


def _with_splits_section(body: str, splits: str) -> str:
    span = splits_section_span(body)
    if span is None:
        return f"{body.rstrip()}\n\n## {SPLITS_HEADING}\n\n{splits}\n"
    start, end = span
    rest = body[end:]
    return f"{body[:start]}\n\n{splits}\n" + (f"\n{rest}" if rest else "")


def use_case_allowed(card: Card, use_case_id: str | None) -> tuple[bool, str]:
    """Is `use_case_id` validated by this card? The message names the mismatch and the valid ids."""
    header = card.header
    ids = ", ".join(header.use_case_ids)
    who = f"{header.model_name} {header.model_version}"
    if not use_case_id:
        return False, f"no use case named: a deployment of {who} must name one of: {ids}"
    if use_case_id in header.use_case_ids:
        return True, f"use case {use_case_id!r} is validated for {who}"
    return False, (f"use case {use_case_id!r} is not validated for {who}; "
                   f"validated use cases: {ids}")
