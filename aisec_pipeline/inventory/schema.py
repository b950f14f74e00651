"""Registry entry schema: `assets/models/<name>/model.yaml`.

Every path in an entry is relative to the model's folder; `loader.confine` enforces it.
Unknown fields are rejected so that a typo never silently disables a control.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .digest import model_digest

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelKind(str, Enum):
    CLASSIFIER = "classifier"
    LLM = "llm"
    OTHER = "other"


class Level(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class EuAiActCategory(str, Enum):
    PROHIBITED = "prohibited"
    HIGH_RISK = "high-risk"
    LIMITED = "limited"
    MINIMAL = "minimal"


class Artifact(Strict):
    path: str
    sha256: str = Field(pattern=SHA256_PATTERN)
    # Pickled classes this entry explicitly trusts beyond the scanner's default allowlist,
    # e.g. "sklearn.linear_model._logistic.LogisticRegression". Listed in the scan report.
    trusted_types: tuple[str, ...] = ()

    @field_validator("trusted_types")
    @classmethod
    def _no_trusted_gadgets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """A type with a known code-execution path is never trusted: the scanner's list wins."""
        from ..scanning.pickle_policy import gadget_kind

        refused = [f"{name} ({kind})" for name in value if (kind := gadget_kind(name))]
        if refused:
            raise ValueError("trusted_types cannot name types with known code-execution paths: " + "; ".join(refused))
        return value


class Signature(Strict):
    bundle: str  # Sigstore bundle written by model-signing, relative to the model folder
    public_key: str  # PEM public key, relative to the model folder


class Provenance(Strict):
    source: str = Field(min_length=1)  # URI checked against the policy's allowlist
    signature: Signature | None = None


class EuAiAct(Strict):
    category: EuAiActCategory
    annex_iii_area: str | None = None

    @model_validator(mode="after")
    def _high_risk_names_its_area(self) -> "EuAiAct":
        if self.category is EuAiActCategory.HIGH_RISK and not self.annex_iii_area:
            raise ValueError("a high-risk system must name its Annex III area (annex_iii_area)")
        return self


class Risk(Strict):
    harm: Level
    reversibility: Level
    eu_ai_act: EuAiAct


class Endpoint(Strict):
    """How to reach a deployed LLM. The API key is read from `api_key_env` at run time."""

    type: Literal["openai", "rest", "registered"] = "openai"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    system_prompt_file: str
    # rest: request body template with $INPUT and $SYSTEM placeholders, JSONPath to the answer
    request_template: str | None = None
    response_json_path: str | None = None
    # registered: the plain key of a target registered in Python (built into aisec, or an
    # installed package's `aisec.targets` entry point); nothing here names code to import
    target: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    # Demo/local only: serve this artifact on loopback for the duration of the scan.
    serve_artifact: str | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> "Endpoint":
        needed = {"openai": ("base_url", "model"), "rest": ("base_url", "request_template",
                  "response_json_path"), "registered": ("target",)}[self.type]
        missing = [name for name in needed if not getattr(self, name)]
        if missing and not (self.type == "openai" and self.serve_artifact and self.model):
            raise ValueError(f"endpoint type {self.type!r} needs: {', '.join(missing)}")
        return self


class Evaluation(Strict):
    """Labelled evaluation data for a classifier, with its demographic segments declared."""

    data: str
    label: str
    prediction: str
    score: str | None = None
    segments: dict[str, tuple[str, ...]]  # column -> the values it may take
    intersections: tuple[tuple[str, ...], ...] = ()
    max_null_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    min_rows: int = Field(default=100, ge=1)
    # Whose output the prediction column is: the artifact's (re-scored by the gate when it can run
    # the artifact safely) or a deployed tool's (bound only by a signed producer statement).
    predictions_from: Literal["artifact", "deployed_tool"] = "artifact"
    statement: str | None = None  # the producer's signed statement (default: DATA.statement.json)

    @model_validator(mode="after")
    def _intersections_use_declared_segments(self) -> "Evaluation":
        for combo in self.intersections:
            unknown = [c for c in combo if c not in self.segments]
            if unknown:
                raise ValueError(f"intersection uses undeclared segment column(s): {unknown}")
        return self


class Monitoring(Strict):
    """Production prediction logs for drift monitoring: a file in the folder or a SQLAlchemy URL."""

    log: str | None = None
    url_env: str | None = None  # env var holding a SQLAlchemy URL (may carry a password)
    table: str = "predictions"
    timestamp: str = "timestamp"
    window_days: int = Field(default=7, ge=1)


class RegistryEntry(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(min_length=1)
    kind: ModelKind
    description: str = Field(min_length=1)
    artifacts: tuple[Artifact, ...] = Field(min_length=1)
    provenance: Provenance
    risk: Risk
    card: str = "card.md"
    endpoint: Endpoint | None = None
    evaluation: Evaluation | None = None
    monitoring: Monitoring | None = None

    @property
    def digest(self) -> str:
        """The model's identity for approvals and evidence (see `digest.model_digest`)."""
        return model_digest({a.path: a.sha256 for a in self.artifacts})

    @field_validator("version")
    @classmethod
    def _version_is_plain(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.+_-]*", value):
            raise ValueError("version may hold only letters, digits and . + _ -")
        return value

    @model_validator(mode="after")
    def _kind_has_what_it_needs(self) -> "RegistryEntry":
        if self.kind is ModelKind.LLM and self.endpoint is None:
            raise ValueError("an llm entry needs an endpoint")
        if self.kind is ModelKind.CLASSIFIER and self.evaluation is None:
            raise ValueError("a classifier entry needs evaluation data")
        return self
