"""The deployment_decision asset body: read the latest evidence, let governance decide, record it."""


import json
from pathlib import Path

import dagster as dg

from ..governance.decision import Decision, decide, governance_inputs
from .evidence import for_current_digest, latest_metadata, latest_verdict
from .resources import GovernedInventory

DECISION_KEY = "decision"
COMMITTEE_HEAD = "committee_register_head"


class DecisionConfig(dg.Config):
    use_case: str | None = None  # the use case this deployment is for; must be validated on the card


def decide_for(context: dg.AssetExecutionContext, config: DecisionConfig,
               inventory: GovernedInventory, folder: Path, evidence: list[str]) -> dg.MaterializeResult:
    extra = {}
    try:
        decision, extra = _decide(context, config, inventory, folder, evidence)
    except Exception as exc:  # noqa: BLE001 - an error is a blocked decision, never a crash or a pass
        decision = Decision(folder.name, "unknown", "unknown", False,
                            (f"the decision could not be made: {type(exc).__name__}: {exc}",))
    context.log.info(f"{decision.model} {decision.version}: {decision.label.upper()}")
    return dg.MaterializeResult(
        metadata={**decision_metadata(decision), **extra},
        check_results=[dg.AssetCheckResult(
            check_name="deployment_approved", passed=decision.approved,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(decision.reasons)[:2000] or "approved")],
    )


def _decide(context, config, inventory, folder, evidence) -> tuple[Decision, dict]:
    from .model_assets import asset_key

    model = inventory.model(folder)
    key = asset_key(model.name, "deployment_decision")
    verdicts = {kind: for_current_digest(latest_verdict(context.instance, asset_key(model.name, kind)),
                                         model.entry.digest)
                for kind in evidence}
    card = verdicts.get("model_card")
    validated = card.figures.get("validated_use_cases") if card is not None and card.passed else None
    # The register head this model's last decision saw: a truncated register is then detected.
    previous = latest_metadata(context.instance, key, COMMITTEE_HEAD)
    inputs = governance_inputs(inventory.path, previous[1] if previous else None)
    decision = decide(model, inventory.policy(), verdicts, **inputs, use_case=config.use_case,
                      validated_use_cases=validated)
    return decision, {COMMITTEE_HEAD: inputs["committee"].head}


def decision_metadata(decision: Decision) -> dict:
    rows = "\n".join(f"| {kind} | {status} |" for kind, status in sorted(decision.evidence.items()))
    return {
        "decision": decision.label,
        "tier": decision.tier,
        "version": decision.version,
        "reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in decision.reasons) or "none"),
        "evidence": dg.MetadataValue.md(f"| evidence | status |\n|---|---|\n{rows}"),
        DECISION_KEY: dg.MetadataValue.json(json.loads(json.dumps(decision.to_dict(), default=str))),
    }
