"""Per registered model, one asset group: the observed artifact, the evidence, and the decision.

    artifact ─┬─> artifact_scan ─────────────────────────────┐
              ├─> evaluation_data ─> bias_report ─> model_card ├─> deployment_decision
              └─> injection_report ───────────────────────────┘
    (policy, committee register) ──────────────────────────────┘

Every evidence asset records a Verdict and reports it through its own asset check. The evidence
checks are not blocking on purpose: the decision must always run and record *why* a version was
blocked (who approved or blocked which version is the audit question). The decision's own check
fails with ERROR whenever the decision is blocked, and the decision is tagged `aisec/decision`
(on its materialization and its run): a block is visible in the catalog, the lineage graph and the
runs list, and is a decision, never a failed run with a stack trace.

The evidence kinds, their checks and how each is assessed come from `aisec_pipeline.evidence_kinds`.
"""


from datetime import timedelta

import dagster as dg

from ..evidence_kinds import EvidenceInputs, EvidenceKind, code_version, kinds_for, upstream_present
from ..governance.policy import Policy
from ..inventory import Model
from .evidence import (ALWAYS_READ, FORCE_TAG, RunInputs, bound_verdict, check_result, evidence_for,
                       evidence_record, fingerprints, input_keys, input_versions, model_inputs,
                       reusable, run_safely, sha256_or_missing, verdict_metadata, SCOPED_LEDGERS)
from .governance_assets import DECISION_GOVERNANCE
from .keys import asset_key, dagster_name
from .memory import recall
from .resources import GovernedInventory, LocalLLMServer, RunFolders

INPUT_DESCRIPTIONS = {
    "entry": "the registry entry (model.yaml)", "artifact": "the weight files' bytes",
    "card": "the model card (card.md)", "evaluation_file": "the labelled evaluation data",
    "system_prompt": "the deployed system prompt", "signature": "the signature bundle and public key",
    "card_reviews": "its lines of the card review log", "committee": "its lines of the committee register",
    "incidents": "its lines of the incident log",
}


def owners(model: Model) -> list[str]:
    """The card's named owner, when the card states a usable email (the card check judges it)."""
    from ..cards.parse import card_owner_email

    email = card_owner_email(model.path(model.entry.card))
    return [email] if email else []


def code_references(model: Model) -> dict:
    """"Source code" in the UI opens what a person edits: the registry entry and the card."""
    references = [dg.LocalFileCodeReference(file_path=str(model.entry_file), line_number=1,
                                            label=f"{model.name}/model.yaml")]
    card = model.path(model.entry.card)
    references.append(dg.LocalFileCodeReference(file_path=str(card), line_number=1,
                                                label=f"{model.name}/{model.entry.card}"))
    return {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=references)}


def build_model_assets(model: Model, policy: Policy) -> list:
    tier = policy.tier_for(model.entry)
    freshness = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=tier.evidence_max_age_hours))
    kinds = kinds_for(model)
    common = dict(group_name=dagster_name(model.name), owners=owners(model),
                  tags={"aisec/model": model.name, "aisec/tier": policy.tier_name(model.entry)})
    assets = [observed_inputs(model, common)]
    assets += [evidence_asset(model, kind, freshness, common) for kind in kinds]
    assets.append(decision_asset(model, [k.name for k in kinds if k.gates], common))
    return assets


def observed_inputs(model: Model, common: dict) -> dg.AssetsDefinition:
    """The model's inputs as observable source assets: their data versions are sha256s, so a
    changed file makes exactly the evidence that reads it stale."""
    names = [*ALWAYS_READ, *(n for n in model_inputs(model) if n not in ALWAYS_READ), *SCOPED_LEDGERS]
    specs = [dg.AssetSpec(asset_key(model.name, name), description=f"{model.name} "
                          f"{model.entry.version}: {INPUT_DESCRIPTIONS[name]}",
                          metadata=code_references(model), kinds={"file"}, **common)
             for name in names]

    @dg.multi_observable_source_asset(specs=specs, name=f"{dagster_name(model.name)}__inputs")
    def _inputs(inventory: GovernedInventory):
        current = inventory.model(model.folder)
        observed = {a.path: sha256_or_missing(current.path(a.path)) for a in current.entry.artifacts}
        versions = input_versions(current, inventory.path, observed)
        for name in names:
            version = versions[asset_key(model.name, name)]
            yield dg.ObserveResult(asset_key=asset_key(model.name, name),
                                   data_version=dg.DataVersion(version), metadata={"sha256": version})

    return _inputs


def evidence_asset(model: Model, kind: EvidenceKind, freshness, common: dict) -> dg.AssetsDefinition:
    upstream = [asset_key(model.name, u) for u in upstream_present(kind, model)]

    @dg.asset(key=asset_key(model.name, kind.name), deps=[*input_keys(kind, model), *upstream],
              description=f"{model.name}: {kind.description}", code_version=code_version(kind.name),
              check_specs=[dg.AssetCheckSpec(kind.check, asset=asset_key(model.name, kind.name),
                                             description=kind.sarif_text)],
              freshness_policy=freshness, kinds=set(kind.engines[:3]),
              metadata=code_references(model), **common)
    def _evidence(context: dg.AssetExecutionContext, inventory: GovernedInventory,
                  run_folders: RunFolders, llm_server: LocalLLMServer,
                  run_inputs: dg.ResourceParam[RunInputs]) -> dg.MaterializeResult:
        current = inventory.model(model.folder)
        observed, versions = run_inputs.of(current, inventory.path, context.run.run_id)
        prints = fingerprints(current, versions)
        reused = _reusable_evidence(context, kind, current, inventory, prints[kind.name])
        if reused is not None:
            return reused
        verdict = run_safely(kind.name, lambda: kind.assess(EvidenceInputs(
            model=current, policy=inventory.policy(),
            workdir=run_folders.folder(context, current.name, kind.name),
            state_dir=run_folders.state_folder(context, current.name, kind.name),
            upstream={u: evidence_for(context.instance, asset_key(current.name, u), prints[u],
                                      context.run.run_id) for u in upstream_present(kind, current)},
            serve=llm_server.serving, progress=_progress(context, current.name), observed=observed,
            remembered=lambda: recall(context.instance))))
        verdict = bound_verdict(verdict, current, prints[kind.name], observed)
        context.log.info(f"{model.name} {kind.name}: {verdict.status.value}")
        return dg.MaterializeResult(metadata={**verdict_metadata(verdict), **_extra_metadata(verdict)},
                                    check_results=[check_result(kind.check, verdict)],
                                    data_version=dg.DataVersion(prints[kind.name]))

    return _evidence


def _reusable_evidence(context: dg.AssetExecutionContext, kind: EvidenceKind, model: Model,
                       inventory: GovernedInventory, fingerprint: str) -> dg.MaterializeResult | None:
    """The gate's one reuse rule, wherever the run came from (CLI, sensor, schedule, the UI's
    Materialize, --remote): gating evidence already measured on exactly these inputs, measured
    (not unassessed) and within the tier's window is recorded again, not re-measured, so the
    lineage shows what the decision uses. A run tagged `aisec/force=true` re-measures."""
    if not kind.gates or context.run.tags.get(FORCE_TAG) == "true":
        return None
    found = evidence_record(context.instance, asset_key(model.name, kind.name), fingerprint)
    max_age = inventory.policy().tier_for(model.entry).evidence_max_age_hours
    if found is None or not reusable(found[0], max_age):
        return None
    verdict, run_id = found
    context.log.info(f"{model.name} {kind.name}: {verdict.status.value} (reused: measured on the "
                     f"same inputs in run {run_id[:8]})")
    source = {"reused from run": dg.MetadataValue.dagster_run(run_id)}
    return dg.MaterializeResult(
        metadata={**verdict_metadata(verdict), **_extra_metadata(verdict), **source},
        check_results=[check_result(kind.check, verdict, source)],
        data_version=dg.DataVersion(fingerprint))


def _progress(context: dg.AssetExecutionContext, model_name: str):
    from ..redteam.runner import throttled

    return throttled(lambda line: context.log.info(f"{model_name} {line}"))


def decision_asset(model: Model, evidence: list[str], common: dict) -> dg.AssetsDefinition:
    from .decision import DecisionConfig, decide_for

    key = asset_key(model.name, "deployment_decision")

    governance = [asset_key(model.name, name) for name in SCOPED_LEDGERS] + DECISION_GOVERNANCE

    @dg.asset(key=key, deps=[asset_key(model.name, e) for e in evidence] + governance,
              description=f"{model.name}: approved only when every evidence kind the tier "
                          "requires is present, passed, fresh and measured on the artifact bytes "
                          "hashed by this run, and governance allows it.",
              metadata=code_references(model),
              check_specs=[dg.AssetCheckSpec("deployment_approved", asset=key,
                                             description="The deployment decision is approved (a "
                                             "block fails this ERROR check, not the run)."),
                           dg.AssetCheckSpec("signoffs_verified", asset=key,
                                             description="Every sign-off the decision needs is there "
                                             "and verified: the signed policy version, the card's "
                                             "signed reviews, the committee's signed word, the risk "
                                             "tier, judged at the time of the decision.")],
              kinds={"aisec"}, **common)
    def deployment_decision(context: dg.AssetExecutionContext, config: DecisionConfig,
                            inventory: GovernedInventory,
                            run_inputs: dg.ResourceParam[RunInputs]) -> dg.MaterializeResult:
        return decide_for(context, config, inventory, run_inputs, model.folder)

    return deployment_decision


def _extra_metadata(verdict) -> dict:
    from .presentation import evidence_presentation

    try:
        return evidence_presentation(verdict)
    except Exception as exc:  # noqa: BLE001 - presentation must never hide the verdict
        return {"presentation_error": f"{type(exc).__name__}: {exc}"}
