"""The aisec model card header: the YAML front matter of `assets/models/<name>/card.md`.

The header is a Hugging Face model card header (license, tags, model-index, ... kept as-is) plus
the aisec keys below. Sub-objects forbid unknown keys so that a typo never hides a missing field.
`last_evaluated`, `artifact_sha256s` and the measured split table are written by the pipeline only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints,
                      field_validator)

from ..inventory.schema import NAME_PATTERN

PIPELINE_KEYS = ("last_evaluated", "artifact_sha256s", "reviewed_by")
USE_CASE_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

# Placeholders a copied template still holds: "<...>", "TODO ...", "TBD", "...", "n/a".
ANGLE_PLACEHOLDER = re.compile(r"<(?!https?://)[^<>]*>")
PLACEHOLDER = re.compile(ANGLE_PLACEHOLDER.pattern + r"|(?:todo|tbd|fixme)\b.*|\.\.\.|n/?a|none|-+",
                         re.IGNORECASE | re.DOTALL)

# Words that name a group, role or mailbox rather than a person.
ALIAS_WORDS = frozenset({
    "team", "teams", "group", "squad", "dept", "department", "division", "unit", "office", "desk",
    "ops", "devops", "mlops", "operations", "admin", "admins", "administrator", "support", "staff",
    "committee", "board", "council", "crew", "engineering", "science", "research", "platform",
    "everyone", "all", "owners", "maintainers", "oncall", "rota", "bot", "service", "org",
})
ALIAS_FRAGMENTS = ("team", "group", "squad", "dept")  # rejected even inside a word: "mlteam"
ALIAS_MAILBOXES = frozenset({
    "noreply", "no-reply", "donotreply", "do-not-reply", "info", "contact", "hello", "help",
    "helpdesk", "it", "security", "sales", "list", "postmaster", "webmaster", "root",
})
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def _not_placeholder(value: str) -> str:
    if PLACEHOLDER.fullmatch(value):
        raise ValueError(f"{value!r} is a placeholder: write the real text")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1),
                 AfterValidator(_not_placeholder)]


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", value.casefold()) if w]


def _alias_reason(value: str, words: list[str]) -> str | None:
    lowered = value.casefold()
    fragment = next((f for f in ALIAS_FRAGMENTS if f in lowered), None)
    word = next((w for w in words if w in ALIAS_WORDS), None)
    found = fragment or word
    return f"looks like a group alias ({found!r})" if found else None


def named_person(value: str) -> str:
    """`value` if it names one person (first and last name, no group alias), else ValueError.
    The one rule for card owners, committee members, incident actors and card reviewers."""
    reason = _alias_reason(value, _words(value))
    if reason:
        raise ValueError(f"{value!r} {reason}, not a named person")
    if len([w for w in value.split() if re.search(r"[^\W\d_]", w)]) < 2:
        raise ValueError(f"{value!r} is not a named person: give a first and last name")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Owner(Strict):
    """The one accountable person. A group cannot be asked "why did you ship this?"."""

    name: Text
    email: Text

    @field_validator("name")
    @classmethod
    def _a_named_person(cls, value: str) -> str:
        return named_person(value)

    @field_validator("email")
    @classmethod
    def _a_personal_address(cls, value: str) -> str:
        if not EMAIL_PATTERN.fullmatch(value):
            raise ValueError(f"{value!r} is not an email address")
        local = value.split("@")[0].casefold()
        if local in ALIAS_MAILBOXES or re.match(r"dl[-._]", local):
            raise ValueError(f"{value!r} is a shared mailbox, not a personal contact")
        reason = _alias_reason(local, re.split(r"[-._+]+", local))
        if reason:
            raise ValueError(f"{value!r} {reason}, not a personal address")
        return value


class UseCase(Strict):
    id: str = Field(pattern=USE_CASE_ID_PATTERN, max_length=64)  # what `--use-case` names
    description: Text


class NotApplicable(Strict):
    not_applicable: Text  # why demographic splits do not apply to this model


class IncidentResponse(Strict):
    runbook: Text  # URL or path
    on_call: Text  # a named person or rota, with contact
    rollback: Text  # what happens when it goes wrong and how to roll back


class CardHeader(BaseModel):
    """The validated header. Extra (Hugging Face) keys are kept as they were written."""

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())

    model_name: str = Field(pattern=NAME_PATTERN)
    model_version: Text
    summary: Text
    owner: Owner
    training_data: Text
    evaluation_data: Text
    failure_modes: list[Text] = Field(min_length=1)
    demographic_splits: Literal["measured"] | NotApplicable
    validated_use_cases: list[UseCase] = Field(min_length=1)
    out_of_scope_uses: list[Text] = Field(min_length=1)
    incident_response: IncidentResponse

    @field_validator("model_version", mode="before")
    @classmethod
    def _version_is_text(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"YAML read {value!r} as a number: quote the version, e.g. \"1.0.0\"")
        return value

    @field_validator("demographic_splits", mode="before")
    @classmethod
    def _measured_or_not_applicable(cls, value: Any) -> Any:
        if value == "measured" or (isinstance(value, dict) and set(value) == {"not_applicable"}):
            return value
        if isinstance(value, (dict, list)):
            raise ValueError("a hand-written split table is not allowed: split values are set by "
                             "the pipeline, never by hand; write `measured` or "
                             "{not_applicable: reason}")
        raise ValueError("must be `measured` or {not_applicable: reason}")

    @field_validator("validated_use_cases")
    @classmethod
    def _ids_unique(cls, value: list[UseCase]) -> list[UseCase]:
        ids = [u.id for u in value]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"use case ids must be unique; repeated: {', '.join(repeated)}")
        return value

    @property
    def use_case_ids(self) -> list[str]:
        return [u.id for u in self.validated_use_cases]

    @property
    def splits_apply(self) -> bool:
        return self.demographic_splits == "measured"


@dataclass(frozen=True)
class Card:
    """A card whose header passed the schema, with its Markdown body."""

    header: CardHeader
    body: str
