"""The deployment_decision asset body: pick the evidence measured on exactly the current inputs,
let governance decide, record the decision and the restrictions it read."""


import json
from pathlib import Path

import dagster as dg

from ..cards.review import load_reviews
from ..governance.decision import (CardUnderReview, Decision, Promotion, decide, governance_inputs,
                                   required_kinds)
from .automation import STATE_KEY, gate_state
from .evidence import RunInputs, evidence_for, evidence_used, fingerprints, used_metadata
from .memory import recall, remember
from .presentation import decision_reasons, decision_summary, plain_table
from .resources import GovernedInventory

DECISION_KEY = "decision"


class DecisionConfig(dg.Config):
    use_case: str | None = None  # the use case this deployment is for; must be validated on the card
    environment: str | None = None  # where it is deployed; promotion follows the policy's order


def decide_for(context: dg.AssetExecutionContext, config: DecisionConfig,
               inventory: GovernedInventory, run_inputs: RunInputs,
               folder: Path) -> dg.MaterializeResult:
    state, used = "unknown", {}
    try:
        model = inventory.model(folder)
        observed, versions = run_inputs.of(model, inventory.path, context.run.run_id)
        state = gate_state(model, versions)  # what the sensor compares
        decision = _decide(context, config, inventory, model, observed, versions)
        used = evidence_used(context.instance, model, versions, context.run.run_id)
    except Exception as exc:  # noqa: BLE001 - an error is a blocked decision, never a crash or a pass
        decision = Decision(folder.name, "unknown", "unknown", False,
                            (f"the decision could not be made: {type(exc).__name__}: {exc}",))
    context.log.info(f"{decision.model} {decision.version}: {decision.label.upper()}")
    label = {"aisec/decision": decision.label}  # a block is a decision, not a failed run
    context.instance.add_run_tags(context.run.run_id, label)
    return dg.MaterializeResult(
        metadata={**decision_metadata(decision), **used_metadata(used), STATE_KEY: state},
        check_results=[dg.AssetCheckResult(
            check_name="deployment_approved", passed=decision.approved,
            severity=dg.AssetCheckSeverity.ERROR, description=decision_summary(decision),
            metadata={"verdict": decision.label.upper(), "blocking reasons": len(decision.reasons),
                      "reasons": decision_reasons(decision)})],
        tags=label,
    )


def _decide(context, config, inventory, model, observed, versions) -> Decision:
    from .model_assets import asset_key

    policy, run_id = inventory.policy(), context.run.run_id
    prints = fingerprints(model, versions)
    verdicts = {kind: evidence_for(context.instance, asset_key(model.name, kind), prints[kind], run_id)
                if kind in prints else None
                for kind in required_kinds(model, policy)}
    card = verdicts.get("model_card")
    validated = card.figures.get("validated_use_cases") if card is not None and card.passed else None
    inputs = governance_inputs(inventory.path)
    reviews = load_reviews(inventory.path)
    remembered = remember(context.instance, inputs["committee"], inputs["incidents"], reviews,
                          recall(context.instance))
    promotion = (Promotion(config.environment, approved_before(context.instance, model))
                 if config.environment else None)
    return decide(model, policy, verdicts, **inputs, use_case=config.use_case,
                  validated_use_cases=validated, remembered=remembered, observed_sha256s=observed,
                  card=card_under_review(model, reviews), promotion=promotion)


def card_under_review(model, reviews) -> CardUnderReview:
    """The card's bytes digest and owner as they are now (the review is bound to these bytes)."""
    from ..cards.parse import parse_card

    parsed = parse_card(model.path(model.entry.card))
    owner = (parsed.header or {}).get("owner")
    name = owner.get("name") if isinstance(owner, dict) else None
    return CardUnderReview(parsed.sha256 or "0" * 64, name if isinstance(name, str) else None, reviews)


HISTORY = 500  # decisions per model searched for earlier environments' approvals


def recorded_decisions(instance: dg.DagsterInstance, model) -> list[Decision]:
    """The model's recorded decisions, newest first (at most HISTORY)."""
    from .model_assets import asset_key

    found = []
    for record in instance.fetch_materializations(asset_key(model.name, "deployment_decision"),
                                                  limit=HISTORY).records:
        value = record.asset_materialization.metadata.get(DECISION_KEY)
        try:
            found.append(Decision.from_dict(value.value))
        except (AttributeError, KeyError, TypeError):
            continue
    return found


def approved_before(instance: dg.DagsterInstance, model) -> frozenset[tuple[str, str, str]]:
    """(environment, artifact digest, card digest) of every approved decision recorded here."""
    return frozenset((d.environment, d.digest, d.card_digest) for d in recorded_decisions(instance, model)
                     if d.approved and d.environment)


def decisions_by_environment(instance: dg.DagsterInstance, model) -> dict[str | None, Decision]:
    """The latest decision per environment (None: gated without naming one)."""
    latest: dict[str | None, Decision] = {}
    for decision in recorded_decisions(instance, model):
        latest.setdefault(decision.environment, decision)
    return latest


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
