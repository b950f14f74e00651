"""Per registered model, one asset group: the observed artifact, the evidence, and the decision.

    artifact ─┬─> artifact_scan ─────────────────────────────┐
              ├─> evaluation_data ─> bias_report ─> model_card ├─> deployment_decision
              └─> injection_report ───────────────────────────┘
    (policy, committee register) ──────────────────────────────┘

Every evidence asset records a Verdict and reports it through its own asset check. The evidence
checks are not blocking on purpose: the decision must always run and record *why* a version was
blocked (who approved or blocked which version is the audit question). The decision's own check
is the blocking gate: it fails with ERROR whenever the decision is blocked, which stops anything
downstream and fails the run (so `dagster asset materialize` exits non-zero too).
"""


from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import dagster as dg

from ..governance.policy import Policy
from ..inventory import Model
from ..inventory.schema import ModelKind
from ..verdict import Verdict
from .governance_assets import GOVERNANCE_KEYS
from .evidence import bound_verdict, check_result, run_safely, verdict_metadata
from .resources import GovernedInventory, LocalLLMServer, RunFolders



def dagster_name(model_name: str) -> str:
    return model_name.replace("-", "_")


def asset_key(model_name: str, kind: str) -> dg.AssetKey:
    return dg.AssetKey([dagster_name(model_name), kind])


@dataclass(frozen=True)
class EvidenceKind:
    """How one kind of evidence is produced and checked."""

    name: str
    check: str
    description: str
    upstream: tuple[str, ...]
    applies_to: tuple[ModelKind, ...]
    gates: bool = True  # feeds the deployment decision; False for post-deployment monitoring

    def applies(self, model: Model) -> bool:
        if model.entry.kind not in self.applies_to:
            return False
        return self.gates or model.entry.monitoring is not None


EVIDENCE = (
    EvidenceKind("artifact_scan", "artifact_is_safe_and_verified",
                 "Every weight file scanned by content (modelscan, picklescan, aisec's own checks) "
                 "without loading it; checksum, source allowlist and signature verified.",
                 ("artifact",), tuple(ModelKind)),
    EvidenceKind("evaluation_data", "evaluation_data_is_valid",
                 "The evaluation data contract, validated with great-expectations.",
                 ("artifact",), (ModelKind.CLASSIFIER,)),
    EvidenceKind("bias_report", "bias_within_thresholds",
                 "Per demographic segment and intersection, with 95% intervals and corrected tests.",
                 ("evaluation_data",), (ModelKind.CLASSIFIER,)),
    EvidenceKind("injection_report", "resists_prompt_injection",
                 "garak's adversarial battery plus aisec's multilingual and canary probes.",
                 ("artifact",), (ModelKind.LLM,)),
    EvidenceKind("model_card", "card_is_complete",
                 "The model card validated, bound to the artifact digest, splits filled from measurement.",
                 ("artifact", "bias_report"), tuple(ModelKind)),
    EvidenceKind("production_bias", "no_production_drift",
                 "Recent production predictions per segment against the measured baseline; drift past "
                 "the tier's threshold fails and alerts (deduplicated).",
                 ("bias_report",), (ModelKind.CLASSIFIER,), gates=False),
)


def evidence_kinds(model: Model) -> list[EvidenceKind]:
    """The evidence kinds that apply to this model (gating ones and monitoring)."""
    return [k for k in EVIDENCE if k.applies(model)]


def gating_kinds(model: Model) -> list[EvidenceKind]:
    return [k for k in evidence_kinds(model) if k.gates]


def owners(model: Model) -> list[str]:
    """The card's named owner, when the card states a usable email (the card check judges it)."""
    from ..cards.parse import card_owner_email

    email = card_owner_email(model.path(model.entry.card))
    return [email] if email else []


def build_model_assets(model: Model, policy: Policy) -> list:
    name = dagster_name(model.name)
    tier = policy.tier_for(model.entry)
    freshness = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=tier.evidence_max_age_hours))
    kinds = evidence_kinds(model)
    common = dict(group_name=name, owners=owners(model),
                  tags={"aisec/model": model.name, "aisec/tier": policy.tier_name(model.entry)})
    assets = [observed_artifact(model, name)]
    assets += [evidence_asset(model, kind, freshness, common) for kind in kinds]
    assets.append(decision_asset(model, [k.name for k in kinds if k.gates], common))
    return assets


def observed_artifact(model: Model, name: str) -> dg.SourceAsset:
    @dg.observable_source_asset(key=[name, "artifact"], group_name=name,
                                description=f"{model.name} {model.entry.version}: "
                                            f"{', '.join(a.path for a in model.entry.artifacts)}")
    def artifact() -> dg.DataVersion:
        from ..provenance import sha256_file

        digests = []
        for item in model.entry.artifacts:
            path = model.path(item.path)
            digests.append(sha256_file(path) if path.is_file() else "missing")
        return dg.DataVersion(digests[0] if len(digests) == 1 else ":".join(digests))

    return artifact


def evidence_asset(model: Model, kind: EvidenceKind, freshness, common: dict) -> dg.AssetsDefinition:
    present = {"artifact", *(k.name for k in evidence_kinds(model))}
    deps = [asset_key(model.name, u) for u in kind.upstream if u in present]

    @dg.asset(key=asset_key(model.name, kind.name), deps=deps, description=kind.description,
              check_specs=[dg.AssetCheckSpec(kind.check, asset=asset_key(model.name, kind.name))],
              freshness_policy=freshness, kinds={"aisec"}, **common)
    def _evidence(context: dg.AssetExecutionContext, inventory: GovernedInventory,
                  run_folders: RunFolders, llm_server: LocalLLMServer) -> dg.MaterializeResult:
        compute = _COMPUTE[kind.name]
        verdict = run_safely(kind.name, lambda: compute(context, model.folder, inventory,
                                                         run_folders, llm_server))
        verdict = bound_verdict(verdict, inventory.model(model.folder), inventory.path)
        context.log.info(f"{model.name} {kind.name}: {verdict.status.value}")
        return dg.MaterializeResult(metadata={**verdict_metadata(verdict), **_extra_metadata(verdict)},
                                    check_results=[check_result(kind.check, verdict)])

    return _evidence


def decision_asset(model: Model, evidence: list[str], common: dict) -> dg.AssetsDefinition:
    from .decision import DecisionConfig, decide_for

    key = asset_key(model.name, "deployment_decision")

    @dg.asset(key=key, deps=[asset_key(model.name, e) for e in evidence] + GOVERNANCE_KEYS,
              description="Approved only when every evidence kind the tier requires is present, "
                          "passed, fresh and bound to this artifact digest, and governance allows it.",
              check_specs=[dg.AssetCheckSpec("deployment_approved", asset=key, blocking=True)],
              kinds={"aisec"}, **common)
    def deployment_decision(context: dg.AssetExecutionContext, config: DecisionConfig,
                            inventory: GovernedInventory) -> dg.MaterializeResult:
        return decide_for(context, config, inventory, model.folder, evidence)

    return deployment_decision


def _extra_metadata(verdict: Verdict) -> dict:
    from .presentation import evidence_presentation

    try:
        return evidence_presentation(verdict)
    except Exception as exc:  # noqa: BLE001 - presentation must never hide the verdict
        return {"presentation_error": f"{type(exc).__name__}: {exc}"}


# --- compute functions: re-read the entry, call the plain core ---------------------------------

ComputeFn = Callable[..., Verdict]


def _artifact_scan(context, folder, inventory, run_folders, llm_server) -> Verdict:
    from ..assessments import assess_artifacts

    return assess_artifacts(inventory.model(folder), inventory.policy())


def _evaluation_data(context, folder, inventory, run_folders, llm_server) -> Verdict:
    from ..assessments import assess_evaluation_data

    return assess_evaluation_data(inventory.model(folder))


def _bias_report(context, folder, inventory, run_folders, llm_server) -> Verdict:
    from ..assessments import assess_bias

    current = inventory.model(folder)
    return assess_bias(current, inventory.policy(), run_folders.folder(context, current.name, "bias_report"))


def _production_bias(context, folder, inventory, run_folders, llm_server) -> Verdict:
    from ..assessments import assess_production_bias
    from .evidence import latest_verdict

    current = inventory.model(folder)
    bias = latest_verdict(context.instance, asset_key(current.name, "bias_report"))
    return assess_production_bias(current, inventory.policy(), bias,
                                  run_folders.state_folder(context, current.name, "production_bias"))


def _model_card(context, folder, inventory, run_folders, llm_server) -> Verdict:
    from ..assessments import assess_card
    from .evidence import latest_verdict

    current = inventory.model(folder)
    bias = None
    if current.entry.kind is ModelKind.CLASSIFIER:
        bias = latest_verdict(context.instance, asset_key(current.name, "bias_report"))
    return assess_card(current, bias, run_folders.folder(context, current.name, "model_card"))


def _injection_report(context, folder, inventory, run_folders, llm_server) -> Verdict:
    from ..assessments import assess_injection

    current = inventory.model(folder)
    endpoint = current.entry.endpoint
    workdir = run_folders.folder(context, current.name, "injection_report")
    from ..redteam.runner import throttled

    progress = throttled(lambda line: context.log.info(f"{current.name} {line}"))
    if endpoint is not None and endpoint.serve_artifact:
        with llm_server.serving(current.path(endpoint.serve_artifact), endpoint.model or current.name) as url:
            return assess_injection(current, inventory.policy(), url, workdir, progress)
    return assess_injection(current, inventory.policy(), None, workdir, progress)


_COMPUTE: dict[str, ComputeFn] = {
    "artifact_scan": _artifact_scan,
    "evaluation_data": _evaluation_data,
    "bias_report": _bias_report,
    "model_card": _model_card,
    "injection_report": _injection_report,
    "production_bias": _production_bias,
}
