"""The one registry of evidence kinds. Everything that must agree on them derives from it:
policy validation, `decide()`, the Dagster asset factory, SARIF/JUnit rules and the regulatory
matrix's vocabulary. A kind added here is gated everywhere; a kind missing here gates nowhere.

Plain Python, no Dagster: the orchestration shell turns each entry into an asset and a check.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Mapping

from .inventory import Model
from .inventory.schema import ModelKind
from .kind_names import (
    ARTIFACT_SCAN,
    BIAS_REPORT,
    EVALUATION_DATA,
    INJECTION_REPORT,
    MODEL_CARD,
    PRODUCTION_BIAS,
)
from .verdict import Verdict

ALL_KINDS = frozenset(ModelKind)
# What each kind reads besides the registry entry and the artifact bytes (always read).
# Fingerprints of reused evidence cover exactly these, so editing a card re-measures the card only.
READS_POLICY, READS_CARD, READS_EVALUATION, READS_SYSTEM_PROMPT, READS_SIGNATURE, READS_REVIEWS = (
    "policy", "card", "evaluation", "system_prompt", "signature", "reviews")


@dataclass(frozen=True)
class EvidenceInputs:
    """Everything an assessment may use; the shell fills it from the run."""

    model: Model
    policy: object  # governance.policy.Policy (not imported here: policy imports this module)
    workdir: Path  # this run's folder for files the evidence writes
    state_dir: Path  # kept across runs (monitoring history, alert state)
    upstream: Mapping[str, Verdict | None] = field(default_factory=dict)
    serve: Callable[[Path, str], ContextManager[str]] | None = None  # serves a local GGUF
    progress: Callable[[str], None] = lambda line: None
    observed: Mapping[str, str] = field(default_factory=dict)  # artifact path -> sha256 the gate hashed
    # governance.memory.Remembered: restrictions this instance has seen (a removed line still binds)
    remembered: Callable[[], object] = lambda: None


@dataclass(frozen=True)
class EvidenceKind:
    name: str
    check: str  # the Dagster asset check that reports it
    description: str
    applies_to: frozenset[ModelKind]
    assess: Callable[[EvidenceInputs], Verdict]
    sarif_text: str  # the SARIF rule's short description
    fix_file: str  # the inventory file a person edits to fix a failure
    engines: tuple[str, ...]  # what measures it (Dagster kinds tags)
    reads: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    gates: bool = True  # False: post-deployment monitoring, never part of the decision
    needs_monitoring: bool = False

    def applies(self, model: Model) -> bool:
        if model.entry.kind not in self.applies_to:
            return False
        return not self.needs_monitoring or model.entry.monitoring is not None


def _artifact_scan(inputs: EvidenceInputs) -> Verdict:
    from .assessments import assess_artifacts

    return assess_artifacts(inputs.model, inputs.policy, inputs.observed)


def _evaluation_data(inputs: EvidenceInputs) -> Verdict:
    from .assessments import assess_evaluation_data

    return assess_evaluation_data(inputs.model)


def _bias_report(inputs: EvidenceInputs) -> Verdict:
    from .assessments import assess_bias

    return assess_bias(inputs.model, inputs.policy, inputs.workdir, inputs.upstream.get(ARTIFACT_SCAN))


def _injection_report(inputs: EvidenceInputs) -> Verdict:
    from .assessments import assess_injection

    model, endpoint = inputs.model, inputs.model.entry.endpoint
    serving = nullcontext(None)
    if endpoint is not None and endpoint.serve_artifact:
        if inputs.serve is None:
            return Verdict.unassessed(INJECTION_REPORT, "no local model server to serve "
                                      f"{endpoint.serve_artifact} for the battery")
        serving = inputs.serve(model.path(endpoint.serve_artifact), endpoint.model or model.name)
    with serving as url:
        return assess_injection(model, inputs.policy, url, inputs.workdir, inputs.progress)


def _model_card(inputs: EvidenceInputs) -> Verdict:
    from .assessments import assess_card

    return assess_card(inputs.model, inputs.upstream.get(BIAS_REPORT), inputs.workdir,
                       inputs.policy, inputs.remembered())


def _production_bias(inputs: EvidenceInputs) -> Verdict:
    from .assessments import assess_production_bias

    return assess_production_bias(inputs.model, inputs.policy, inputs.upstream.get(BIAS_REPORT),
                                  inputs.state_dir)


REGISTRY: tuple[EvidenceKind, ...] = (
    EvidenceKind(
        ARTIFACT_SCAN, "artifact_is_safe_and_verified",
        "Every weight file scanned by content (modelscan, picklescan, aisec's own checks) without "
        "loading it; checksum, source allowlist and signature verified.",
        ALL_KINDS, _artifact_scan,
        "Artifact is safe, its checksum, source and signature verified", "model.yaml",
        ("modelscan", "picklescan", "model_signing"), (READS_POLICY, READS_SIGNATURE)),
    EvidenceKind(
        EVALUATION_DATA, "evaluation_data_is_valid",
        "The evaluation data contract (rows, columns, declared segment values, nulls), validated "
        "with great-expectations.",
        frozenset({ModelKind.CLASSIFIER}), _evaluation_data,
        "Evaluation data satisfies its contract", "model.yaml",
        ("great_expectations", "pandas"), (READS_EVALUATION,)),
    EvidenceKind(
        BIAS_REPORT, "bias_within_thresholds",
        "Per demographic segment and intersection, with 95% intervals and corrected tests.",
        frozenset({ModelKind.CLASSIFIER}), _bias_report,
        "No demographic segment beyond the tier's thresholds", "model.yaml",
        ("pandas", "numpy", "skops", "onnxruntime"), (READS_POLICY, READS_EVALUATION, READS_CARD),
        (EVALUATION_DATA, ARTIFACT_SCAN)),
    EvidenceKind(
        INJECTION_REPORT, "resists_prompt_injection",
        "garak's adversarial battery plus aisec's multilingual and canary probes.",
        frozenset({ModelKind.LLM}), _injection_report,
        "Endpoint resists prompt injection", "model.yaml",
        ("garak", "ctranslate2"), (READS_POLICY, READS_SYSTEM_PROMPT)),
    EvidenceKind(
        MODEL_CARD, "card_is_complete",
        "The model card validated, bound to the artifact digest, splits filled from measurement, "
        "and its signed review standing as the tier requires.",
        ALL_KINDS, _model_card,
        "Model card is complete, bound to the artifact and its review signed", "card.md",
        ("aisec",), (READS_POLICY, READS_CARD, READS_REVIEWS), (BIAS_REPORT,)),
    EvidenceKind(
        PRODUCTION_BIAS, "no_production_drift",
        "Recent production predictions per segment against the measured baseline; drift past "
        "the tier's threshold fails and alerts (deduplicated).",
        frozenset({ModelKind.CLASSIFIER}), _production_bias,
        "No production drift past the tier's threshold", "model.yaml",
        ("pandas",), (READS_POLICY,), (BIAS_REPORT,), gates=False, needs_monitoring=True),
)

BY_NAME: dict[str, EvidenceKind] = {kind.name: kind for kind in REGISTRY}
# Engine name (as in `engines`) -> the distribution whose version is part of the code version.
ENGINE_DISTRIBUTIONS = {"modelscan": "modelscan", "picklescan": "picklescan",
                        "model_signing": "model-signing", "great_expectations": "great-expectations",
                        "pandas": "pandas", "numpy": "numpy", "skops": "skops",
                        "onnxruntime": "onnxruntime", "garak": "garak",
                        "ctranslate2": "ctranslate2"}


@functools.cache
def code_version(kind_name: str) -> str:
    """What a kind's verdict depends on besides its inputs: aisec's version and its engines'.
    Upgrading any of them makes the evidence stale (in `aisec gate` and in Dagster alike)."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    parts = [f"aisec {__version__}", kind_name]
    for engine in BY_NAME[kind_name].engines:
        distribution = ENGINE_DISTRIBUTIONS.get(engine)
        if distribution:
            try:
                parts.append(f"{distribution} {version(distribution)}")
            except PackageNotFoundError:
                parts.append(f"{distribution} absent")
    return "; ".join(parts)
GATING_NAMES: tuple[str, ...] = tuple(k.name for k in REGISTRY if k.gates)


def kinds_for(model: Model) -> list[EvidenceKind]:
    """The kinds that apply to this model, gating and monitoring, in dependency order."""
    return [kind for kind in REGISTRY if kind.applies(model)]


def gating_kinds_for(model: Model) -> list[EvidenceKind]:
    """The kinds the decision always requires for this model: no policy line can drop them."""
    return [kind for kind in kinds_for(model) if kind.gates]


def upstream_present(kind: EvidenceKind, model: Model) -> tuple[str, ...]:
    present = {k.name for k in kinds_for(model)}
    return tuple(name for name in kind.upstream if name in present)
