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

The evidence kinds, their checks and how each is assessed come from `aisec_pipeline.evidence_kinds`.
"""


from datetime import timedelta

import dagster as dg

from ..evidence_kinds import EvidenceInputs, EvidenceKind, kinds_for, upstream_present
from ..governance.policy import Policy
from ..inventory import Model
from .evidence import (ArtifactDigests, bound_verdict, check_result, evidence_for, fingerprints,
                       run_safely, verdict_metadata)
from .governance_assets import GOVERNANCE_KEYS
from .resources import GovernedInventory, LocalLLMServer, RunFolders


def dagster_name(model_name: str) -> str:
    return model_name.replace("-", "_")


def asset_key(model_name: str, kind: str) -> dg.AssetKey:
    return dg.AssetKey([dagster_name(model_name), kind])


def evidence_kinds(model: Model) -> list[EvidenceKind]:
    """The evidence kinds that apply to this model (gating ones and monitoring)."""
    return kinds_for(model)


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
    deps = [asset_key(model.name, u) for u in ("artifact", *upstream_present(kind, model))]

    @dg.asset(key=asset_key(model.name, kind.name), deps=deps, description=kind.description,
              check_specs=[dg.AssetCheckSpec(kind.check, asset=asset_key(model.name, kind.name),
                                             description=kind.sarif_text)],
              freshness_policy=freshness, kinds=set(kind.engines[:3]), **common)
    def _evidence(context: dg.AssetExecutionContext, inventory: GovernedInventory,
                  run_folders: RunFolders, llm_server: LocalLLMServer,
                  artifact_digests: dg.ResourceParam[ArtifactDigests]) -> dg.MaterializeResult:
        current = inventory.model(model.folder)
        observed = artifact_digests.of(current, context.run.run_id)
        prints = fingerprints(current, inventory.path, observed)
        verdict = run_safely(kind.name, lambda: kind.assess(EvidenceInputs(
            model=current, policy=inventory.policy(),
            workdir=run_folders.folder(context, current.name, kind.name),
            state_dir=run_folders.state_folder(context, current.name, kind.name),
            upstream={u: evidence_for(context.instance, asset_key(current.name, u), prints[u],
                                      context.run.run_id) for u in upstream_present(kind, current)},
            serve=llm_server.serving, progress=_progress(context, current.name))))
        verdict = bound_verdict(verdict, current, prints[kind.name], observed)
        context.log.info(f"{model.name} {kind.name}: {verdict.status.value}")
        return dg.MaterializeResult(metadata={**verdict_metadata(verdict), **_extra_metadata(verdict)},
                                    check_results=[check_result(kind.check, verdict)])

    return _evidence


def _progress(context: dg.AssetExecutionContext, model_name: str):
    from ..redteam.runner import throttled

    return throttled(lambda line: context.log.info(f"{model_name} {line}"))


def decision_asset(model: Model, evidence: list[str], common: dict) -> dg.AssetsDefinition:
    from .decision import DecisionConfig, decide_for

    key = asset_key(model.name, "deployment_decision")

    @dg.asset(key=key, deps=[asset_key(model.name, e) for e in evidence] + GOVERNANCE_KEYS,
              description="Approved only when every evidence kind the tier requires is present, "
                          "passed, fresh and measured on the artifact bytes hashed by this run, "
                          "and governance allows it.",
              check_specs=[dg.AssetCheckSpec("deployment_approved", asset=key, blocking=True,
                                             description="The deployment decision is approved.")],
              kinds={"aisec"}, **common)
    def deployment_decision(context: dg.AssetExecutionContext, config: DecisionConfig,
                            inventory: GovernedInventory,
                            artifact_digests: dg.ResourceParam[ArtifactDigests]) -> dg.MaterializeResult:
        return decide_for(context, config, inventory, artifact_digests, model.folder)

    return deployment_decision


def _extra_metadata(verdict) -> dict:
    from .presentation import evidence_presentation

    try:
        return evidence_presentation(verdict)
    except Exception as exc:  # noqa: BLE001 - presentation must never hide the verdict
        return {"presentation_error": f"{type(exc).__name__}: {exc}"}
