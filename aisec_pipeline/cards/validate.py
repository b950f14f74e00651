"""Validate a model card and turn the result into the `model_card` verdict.

Every problem is reported at once, each naming its field, so an author fixes a card in one pass.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..clock import from_the_future, parse_stamp
from ..inventory.schema import SHA256_PATTERN, ModelKind, RegistryEntry
from ..kind_names import MODEL_CARD
from ..verdict import Status, Verdict
from .parse import SPLITS_HEADING, has_split_table, parse_card
from .schema import ANGLE_PLACEHOLDER, PIPELINE_KEYS, Card, CardHeader
KIND = MODEL_CARD
SET_BY_PIPELINE = "set by the pipeline, never by hand: remove it from the card"
FRIENDLY_MESSAGES = {
    "missing": "missing (required)",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "model_type": "must be a mapping of keys (see docs/model-card-template.md)",
    "list_type": "must be a list",
    "extra_forbidden": "unknown key",
}


@dataclass(frozen=True)
class CardValidation:
    path: Path
    problems: tuple[str, ...]  # "field: what is wrong", one per problem
    card: Card | None = None  # set when the header passed the schema (cross-checks may still fail)
    sha256: str | None = None  # of the card file's bytes
    found: bool = True
    entry_checked: bool = False  # compared with its registry entry

    @property
    def valid(self) -> bool:
        return self.card is not None and not self.problems

    def to_dict(self) -> dict[str, Any]:
        header = self.card.header if self.card else None
        return {
            "path": str(self.path),
            "valid": self.valid,
            "problems": list(self.problems),
            "sha256": self.sha256,
            "entry_checked": self.entry_checked,
            "model_name": header.model_name if header else None,
            "model_version": header.model_version if header else None,
            "validated_use_cases": header.use_case_ids if header else [],
        }


def validate_card(path: Path, entry: RegistryEntry | None = None, *,
                  published: bool = False) -> CardValidation:
    """Check a hand-written card (or, with `published=True`, one written by `render_card`)."""
    parsed = parse_card(path)
    checked = entry is not None
    if parsed.header is None:
        return CardValidation(path, parsed.problems, None, parsed.sha256, parsed.found, checked)
    raw = parsed.header
    header, problems = _check_schema(raw)
    problems += _placeholder_problems(raw)
    problems += _published_problems(raw) if published else _hand_set_problems(raw, parsed.body)
    problems += _entry_problems(raw, entry)
    card = Card(header, parsed.body) if header else None
    return CardValidation(path, tuple(problems), card, parsed.sha256, True, checked)


def _check_schema(raw: dict[str, Any]) -> tuple[CardHeader | None, list[str]]:
    try:
        return CardHeader.model_validate(raw), []
    except ValidationError as exc:
        return None, [_describe(err, raw) for err in exc.errors()]


def _describe(err: Any, raw: dict[str, Any]) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    message = FRIENDLY_MESSAGES.get(err["type"], err["msg"].removeprefix("Value error, "))
    if err["type"] == "string_pattern_mismatch":
        message = f"{err['input']!r} does not match the pattern {err['ctx']['pattern']}"
    if err["type"] == "missing" and len(err["loc"]) == 1:
        extras = [k for k in raw if k not in CardHeader.model_fields]
        near = difflib.get_close_matches(where, extras, n=1, cutoff=0.75)
        message += f"; did you mean to write {near[0]!r} as {where!r}?" if near else ""
    return f"{where or 'header'}: {message}"


def _placeholder_problems(raw: dict[str, Any]) -> list[str]:
    """Hugging Face keys are free-form, but a template's "<...>" left in them is still a mistake."""
    extras = [k for k in raw if k not in CardHeader.model_fields]
    return [f"{key}: a placeholder is left in: write the real value"
            for key in extras if _holds_placeholder(raw[key])]


def _holds_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return ANGLE_PLACEHOLDER.fullmatch(value.strip()) is not None
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return any(_holds_placeholder(item) for item in value)
    return False


def _hand_set_problems(raw: dict[str, Any], body: str) -> list[str]:
    problems = [f"{key}: {SET_BY_PIPELINE}" for key in PIPELINE_KEYS if key in raw]
    if has_split_table(body):
        problems.append(f"body ({SPLITS_HEADING}): a hand-written split table: measured values "
                        f"are {SET_BY_PIPELINE}")
    return problems


def _published_problems(header: dict[str, Any]) -> list[str]:
    """A card written by `render_card` carries what the pipeline set; check that it is there."""
    problems = []
    stamp = parse_stamp(header.get("last_evaluated"))
    future = stamp and from_the_future(stamp, datetime.now(timezone.utc))
    if stamp is None:
        problems.append("last_evaluated: a published card needs an ISO 8601 time with zone")
    elif future:
        problems.append(f"last_evaluated: {future}")
    hashes = header.get("artifact_sha256s")
    if not isinstance(hashes, dict) or not hashes or not all(
            isinstance(v, str) and re.fullmatch(SHA256_PATTERN, v) for v in hashes.values()):
        problems.append("artifact_sha256s: a published card needs {artifact path: sha256}")
    return problems


def _entry_problems(raw: dict[str, Any], entry: RegistryEntry | None) -> list[str]:
    if entry is None:
        return []
    problems = []
    for field, expected in (("model_name", entry.name), ("model_version", entry.version)):
        value = raw.get(field)
        if isinstance(value, str) and value != expected:
            problems.append(f"{field}: {value!r} does not match the registry entry ({expected!r})")
    splits = raw.get("demographic_splits")
    if entry.kind is ModelKind.CLASSIFIER and isinstance(splits, dict) and set(splits) == {
            "not_applicable"}:
        problems.append("demographic_splits: a classifier must say `measured`: the pipeline "
                        "fills the table from the bias report")
    return problems


def card_verdict(validation: CardValidation, artifact_sha256s: dict[str, str]) -> Verdict:
    """PASSED only for a valid card checked against its entry; binds it to the artifacts' sha256."""
    figures: dict[str, Any] = {"card_path": str(validation.path), "card_sha256": validation.sha256}
    if not validation.found:
        return Verdict(KIND, Status.FAILED, (f"no model card: {validation.path}",), figures)
    if not validation.valid:
        figures["problem_count"] = len(validation.problems)
        return Verdict(KIND, Status.FAILED, validation.problems, figures)
    if not validation.entry_checked:
        return Verdict.unassessed(KIND, "the card was not checked against its registry entry",
                                  **figures)
    bad = [p for p, h in artifact_sha256s.items() if not re.fullmatch(SHA256_PATTERN, str(h))]
    if not artifact_sha256s or bad:
        reason = f"bad artifact sha256 for {bad}" if bad else "no artifact sha256 to bind to"
        return Verdict.unassessed(KIND, reason, **figures)
    return Verdict(KIND, Status.PASSED, (), _binding_figures(validation, artifact_sha256s, figures))


def _binding_figures(validation: CardValidation, artifact_sha256s: dict[str, str],
                     figures: dict[str, Any]) -> dict[str, Any]:
    assert validation.card is not None  # valid implies a card
    header = validation.card.header
    artifacts = dict(sorted(artifact_sha256s.items()))
    binding = json.dumps({"card_sha256": validation.sha256, "artifacts": artifacts}, sort_keys=True)
    return {
        **figures,
        "model_name": header.model_name,
        "model_version": header.model_version,
        "owner": header.owner.name,
        "owner_email": header.owner.email,
        "validated_use_cases": header.use_case_ids,
        "demographic_splits": "measured" if header.splits_apply else "not_applicable",
        "artifact_sha256s": artifacts,
        "binding_sha256": hashlib.sha256(binding.encode()).hexdigest(),
    }
