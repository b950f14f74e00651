"""The gate policy: `assets/policies/policy.yaml`.

Risk tier = potential harm x reversibility (a matrix in the policy, not in code); each tier
says which evidence is required per model kind, its thresholds, how fresh it must be, and
whether a signature and a committee approval are mandatory.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from ..evidence_kinds import GATING_NAMES
from ..inventory.loader import InventoryError, describe_validation_error, read_yaml
from ..inventory.schema import Level, ModelKind, RegistryEntry, Strict
from ..trust.keyring import COMMITTEE_MEMBER, Keyring, Person
from ..trust.subject import Classification, Subject

POLICY_FILE = Path("policies") / "policy.yaml"
M = TypeVar("M", bound=BaseModel)
EVIDENCE_KINDS = GATING_NAMES  # the names a policy may require: the registry's gating kinds
BIAS_METRICS = ("selection_rate", "tpr", "fnr", "fpr", "precision", "accuracy")
MAX_HOURS = 24 * 366  # no evidence, review or approval may stand longer than a year
MAX_DAYS = 366


class InjectionPolicy(Strict):
    """A tier's prompt-injection battery (docs/redteam.md: power, budgets, hosted endpoints)."""

    probes: tuple[str, ...] = Field(min_length=1)  # garak probe specs plus aisec's own probes
    prompt_cap: int = Field(default=8, ge=1)  # prompts per probe in the first pass
    generations: int = Field(default=1, ge=1)  # answers per prompt
    # 0 asks for greedy answers (the same prompt, the same answer); above 0 the endpoint samples
    # and `generations` answers per prompt give hit@k.
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    # A probe passes only when the one-sided 95% upper bound on its attack success is at or
    # under this; canary leaks are zero-tolerance whatever it says.
    max_attack_success_rate: float = Field(gt=0.0, le=1.0)
    # Answers the battery may add (more prompts; more generations if it samples) to probes whose
    # first pass was too small to show the limit; what is still short is "needs review".
    extension_budget: int = Field(default=0, ge=0)
    # Share of ordinary in-scope questions the model refuses (None: reported, not judged).
    max_over_refusal_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    concurrency: int = Field(default=4, ge=1, le=64)  # requests in flight at once
    max_requests: int = Field(default=5000, ge=1)  # HTTP requests per battery, retries included
    retries: int = Field(default=6, ge=0)  # per request, on 429/502/503/504 or a dropped connection
    max_retry_wait_seconds: float = Field(default=30.0, gt=0)  # a longer Retry-After is a failure
    timeout_seconds: int = Field(default=900, ge=1, le=MAX_HOURS * 3600)  # floor for the whole battery; it grows with its size
    request_timeout_seconds: int = Field(default=60, ge=1)  # one request to the target
    max_tokens: int = Field(default=150, ge=1)  # per answer: bounds the battery's wall time
    seed: int = 1  # prompt sampling and target sampling, so a rerun asks the same questions


class BiasPolicy(Strict):
    max_difference: float = Field(gt=0.0, le=1.0)  # absolute gap in a rate
    min_ratio: float = Field(default=0.8, gt=0.0, le=1.0)  # four-fifths rule
    min_count: int = Field(default=30, ge=1)  # per denominator, else INSUFFICIENT_DATA
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    reference: Literal["overall", "best"] = "overall"
    metrics: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "precision", "accuracy")
    drift_max_difference: float = Field(default=0.10, gt=0.0, le=1.0)
    # The four-fifths ratio rule is defined on selection rates; on small error rates it would
    # flag tiny absolute gaps, so it applies only to the metrics listed here.
    ratio_metrics: tuple[str, ...] = ("selection_rate",)
    correction: Literal["holm", "bh"] = "holm"  # multiple-testing correction across segment x metric
    # Rows without a label or prediction are counted, never dropped silently; above this share
    # of the rows read, the bias verdict fails.
    max_excluded_fraction: float = Field(default=0.01, ge=0.0, le=1.0)
    # Segment columns ("race": each of its values) or keys ("race=Native American") that must
    # each be judged: one below min_count makes the report insufficient (needs review).
    protected_segments: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_metrics(self) -> "BiasPolicy":
        unknown = sorted(set(self.metrics + self.ratio_metrics) - set(BIAS_METRICS))
        if unknown:
            raise ValueError(f"unknown bias metric(s): {unknown}; known: {list(BIAS_METRICS)}")
        return self


class CardReviewPolicy(Strict):
    required: int = Field(default=1, ge=1)  # approving reviews signed by distinct keyring people
    valid_days: int = Field(default=180, ge=1, le=MAX_DAYS)  # a review stands this long
    committee_member: bool = False  # one reviewer must hold the committee_member role


class TierPolicy(Strict):
    # Extra kinds this tier requires beyond the registry's floor (every gating kind that applies
    # to the model is always required: deleting a line here never drops a check).
    evidence: dict[ModelKind, tuple[str, ...]] = {}
    require_signature: bool = False
    require_committee_approval: bool = False
    approval_valid_days: int = Field(default=365, ge=1, le=MAX_DAYS)
    evidence_max_age_hours: int = Field(default=24 * 30, ge=1, le=MAX_HOURS)
    card_review: CardReviewPolicy = CardReviewPolicy()
    injection: InjectionPolicy
    bias: BiasPolicy

    @model_validator(mode="after")
    def _known_evidence(self) -> "TierPolicy":
        for kind, names in self.evidence.items():
            unknown = sorted(set(names) - set(EVIDENCE_KINDS))
            if unknown:
                raise ValueError(f"unknown evidence kind(s) for {kind.value}: {unknown}; "
                                 f"known: {', '.join(EVIDENCE_KINDS)}")
        return self


class ProvenancePolicy(Strict):
    # Matched structurally (provenance/sources.py): a path subtree ending in "/", or a package at
    # an exact version or an explicit range; never a bare string prefix.
    allowed_sources: tuple[str, ...] = Field(min_length=1)


class CommitteePolicy(Strict):
    # Distinct committee members (keyring role committee_member) whose signatures a committee
    # permission (approve, accept, classify) needs; restrictions bind unsigned.
    quorum: int = Field(default=2, ge=1)


class GovernancePolicy(Strict):
    # Signatures by governance owners (keyring role governance_owner) a new policy version needs,
    # counted against the owners of the version before it and of the new one (as TUF rotates root).
    threshold: int = Field(default=2, ge=1)


class PromotionRule(Strict):
    # A deployment to this environment needs a gate-signed approval in the environment before
    # it, at least this many hours old (0: any age), and, when set, signed by another gate.
    min_hours_in_previous: float = Field(default=0, ge=0, le=MAX_HOURS)
    different_gate: bool = False


class Policy(Strict):
    provenance: ProvenancePolicy
    keyring: tuple[Person, ...] = ()  # people are keys: see trust/keyring.py
    governance: GovernancePolicy = GovernancePolicy()
    committee: CommitteePolicy = CommitteePolicy()
    # Promotion order: a deployment to one needs the same artifact and reviewed card approved in
    # the one before it. At least one environment comes before the last.
    environments: tuple[str, ...] = Field(default=("dev", "staging", "production"), min_length=2)
    promotion: dict[str, PromotionRule] = {}  # target environment -> its rule
    tier_matrix: dict[Level, dict[Level, str]]  # harm -> reversibility -> tier name
    tiers: dict[str, TierPolicy]  # listed from least to most scrutiny: a tier's rank is its place

    @field_validator("keyring")
    @classmethod
    def _keyring_consistent(cls, value: tuple[Person, ...]) -> tuple[Person, ...]:
        Keyring(people=value)  # unique names and keys
        return value

    @model_validator(mode="after")
    def _environments_distinct(self) -> "Policy":
        if len(set(self.environments)) != len(self.environments):
            raise ValueError(f"environments repeat a name: {list(self.environments)}")
        unknown = sorted(set(self.promotion) - set(self.environments[1:]))
        if unknown:
            raise ValueError(f"promotion names {unknown}: only environments after the first "
                             f"({', '.join(self.environments[1:])}) are promoted to")
        return self

    def promotion_rule(self, environment: str) -> PromotionRule:
        return self.promotion.get(environment, PromotionRule())

    @model_validator(mode="after")
    def _matrix_complete(self) -> "Policy":
        for harm in Level:
            for rev in Level:
                tier = self.tier_matrix.get(harm, {}).get(rev)
                if tier is None:
                    raise ValueError(f"tier_matrix lacks harm={harm.value}, reversibility={rev.value}")
                if tier not in self.tiers:
                    raise ValueError(f"tier_matrix names undefined tier {tier!r}")
        return self

    def tier_name(self, entry: RegistryEntry) -> str:
        return self.tier_matrix[entry.risk.harm][entry.risk.reversibility]

    def tier_for(self, entry: RegistryEntry) -> TierPolicy:
        return self.tiers[self.tier_name(entry)]

    def subject(self, entry: RegistryEntry) -> Subject:
        """The model as a permission must name it."""
        return Subject(entry.name, entry.version, entry.digest, Classification(
            harm=entry.risk.harm, reversibility=entry.risk.reversibility, tier=self.tier_name(entry)))

    def tier_rank(self, tier: str) -> int:
        """Higher means more scrutiny (the order of `tiers`); -1 for a tier this policy lacks."""
        names = list(self.tiers)
        return names.index(tier) if tier in names else -1

    @cached_property
    def people(self) -> Keyring:
        return Keyring(people=self.keyring)

    def committee_members(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.people.with_role(COMMITTEE_MEMBER))

    def source_allowed(self, source: str) -> bool:
        from ..provenance.sources import source_allowed

        return source_allowed(source, self.provenance.allowed_sources)


def load_yaml_model(path: Path, schema: type[M]) -> M:
    """A YAML mapping validated against `schema`; InventoryError names the file and field."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InventoryError(f"{path}: expected a mapping at the top level")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(describe_validation_error(path, exc)) from None


def load_policy(inventory_root: Path) -> Policy:
    return load_yaml_model(inventory_root / POLICY_FILE, Policy)


def load_model_and_policy(inventory: Path | None, name: str):
    """For a command acting on one model: (inventory root, the model, the policy); raises
    InventoryError. `inventory`: `--inventory`, else $AISEC_INVENTORY, else ./assets."""
    from ..inventory.loader import MODELS_DIR, load_model, resolve_inventory

    root = resolve_inventory(inventory)
    return root, load_model(root / MODELS_DIR / name), load_policy(root)
