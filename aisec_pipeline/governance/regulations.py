"""Regulatory configuration: `assets/policies/regulations.yaml`.

Application dates, Art. 73 reporting deadlines and the obligation -> evidence mapping are data,
edited through review when the law or its reading changes; no date or day count lives in code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, field_validator

from ..evidence_kinds import REGISTRY
from ..inventory.schema import EuAiActCategory, Strict
from .policy import load_yaml_model

REGULATIONS_FILE = Path("policies") / "regulations.yaml"
COMMITTEE_EVIDENCE = "committee"  # attested by a named committee decision, not produced by a run
# Evidence an obligation may cite: every registered kind, plus what is judged inside them or
# alongside (provenance inside the artifact scan; incidents and the committee by the decision).
EVIDENCE_KINDS = (*(kind.name for kind in REGISTRY), "provenance", "incidents", "run_log",
                  COMMITTEE_EVIDENCE)


class ReportingRule(Strict):
    circumstance: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    days: int = Field(ge=0)
    basis: str = Field(min_length=1)


class IncidentReporting(Strict):
    article: str
    default_days: int = Field(ge=0)
    default_basis: str = Field(min_length=1)
    rules: tuple[ReportingRule, ...] = ()

    @property
    def circumstances(self) -> tuple[str, ...]:
        return tuple(rule.circumstance for rule in self.rules)


class Requirement(Strict):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    evidence: tuple[str, ...] = ()

    @field_validator("evidence")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(EVIDENCE_KINDS))
        if unknown:
            raise ValueError(f"unknown evidence kind(s) {unknown}; known: {', '.join(EVIDENCE_KINDS)}")
        return value


class EuAiAct(Strict):
    title: str
    applies_from: dict[EuAiActCategory, date | None]
    serious_incident_reporting: IncidentReporting
    obligations: tuple[Requirement, ...] = Field(min_length=1)


class UkCode(Strict):
    title: str
    principles: tuple[Requirement, ...] = Field(min_length=1)


class Regulations(Strict):
    eu_ai_act: EuAiAct
    uk_ai_cyber_security_code: UkCode


def load_regulations(inventory_root: Path) -> Regulations:
    return load_yaml_model(inventory_root / REGULATIONS_FILE, Regulations)
