"""The deployment_decision asset body: pick the evidence measured on exactly the current inputs,
let governance decide, record the decision and the restrictions it read."""


import json
from pathlib import Path

import dagster as dg

from ..governance.decision import Decision, decide, governance_inputs, required_kinds
from .evidence import ArtifactDigests, evidence_for, fingerprints
from .memory import recall, remember
from .presentation import decision_reasons, decision_summary, plain_table
from .resources import GovernedInventory

DECISION_KEY = "decision"


class DecisionConfig(dg.Config):
    use_case: str | None = None  # the use case this deployment is for; must be validated on the card


def decide_for(context: dg.AssetExecutionContext, config: DecisionConfig,
               inventory: GovernedInventory, digests: ArtifactDigests,
               folder: Path) -> dg.MaterializeResult:
    try:
        decision = _decide(context, config, inventory, digests, folder)
    except Exception as exc:  # noqa: BLE001 - an error is a blocked decision, never a crash or a pass
        decision = Decision(folder.name, "unknown", "unknown", False,
                            (f"the decision could not be made: {type(exc).__name__}: {exc}",))
    context.log.info(f"{decision.model} {decision.version}: {decision.label.upper()}")
    return dg.MaterializeResult(
        metadata=decision_metadata(decision),
        check_results=[dg.AssetCheckResult(
            check_name="deployment_approved", passed=decision.approved,
            severity=dg.AssetCheckSeverity.ERROR, description=decision_summary(decision),
            metadata={"verdict": decision.label.upper(), "blocking reasons": len(decision.reasons),
                      "reasons": decision_reasons(decision)})],
    )


def _decide(context, config, inventory, digests, folder) -> Decision:
    from .model_assets import asset_key

    model, policy, run_id = inventory.model(folder), inventory.policy(), context.run.run_id
    observed = digests.of(model, run_id)
    prints = fingerprints(model, inventory.path, observed)
    verdicts = {kind: evidence_for(context.instance, asset_key(model.name, kind), prints[kind], run_id)
                if kind in prints else None
                for kind in required_kinds(model, policy)}
    card = verdicts.get("model_card")
    validated = card.figures.get("validated_use_cases") if card is not None and card.passed else None
    inputs = governance_inputs(inventory.path)
    remembered = remember(context.instance, inputs["committee"], inputs["incidents"], recall(context.instance))
    return decide(model, policy, verdicts, **inputs, use_case=config.use_case,
                  validated_use_cases=validated, remembered=remembered, observed_sha256s=observed)


def decision_metadata(decision: Decision) -> dict:
    """Verdict and summary first, as plain text: the UI shows them without a click."""
    evidence = [{"evidence": kind, "status": status} for kind, status in sorted(decision.evidence.items())]
    return {
        "verdict": dg.MetadataValue.text(decision.label.upper()),
        "summary": dg.MetadataValue.text(decision_summary(decision)),
        "tier": decision.tier,
        "version": decision.version,
        "blocking reasons": dg.MetadataValue.int(len(decision.reasons)),
        "reasons": decision_reasons(decision),
        "evidence": plain_table(evidence or [{"evidence": "none", "status": ""}]),
        DECISION_KEY: dg.MetadataValue.json(json.loads(json.dumps(decision.to_dict(), default=str))),
    }
