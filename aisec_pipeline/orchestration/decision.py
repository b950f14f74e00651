"""The deployment_decision asset body: gather every fact the decision needs once (the evidence
measured on exactly the current inputs, the verified governance files, the instance's memory),
let governance decide from that value alone, record the decision and the restrictions it read."""


import json
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from ..cards.review import CardUnderReview
from ..governance.attestation import AttestationError, gate_signer, verify_attestation
from ..governance.decision import (Decision, GateFacts, PriorApproval, Promotion, decide,
                                   read_governance, required_kinds)
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
    state, used, versions = "unknown", {}, {}
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
        metadata={**decision_metadata(decision, lineage(versions, used)), **used_metadata(used),
                  STATE_KEY: state},
        check_results=[dg.AssetCheckResult(
            check_name="deployment_approved", passed=decision.approved,
            severity=dg.AssetCheckSeverity.ERROR, description=decision_summary(decision),
            metadata={"verdict": decision.label.upper(), "blocking reasons": len(decision.reasons),
                      "reasons": decision_reasons(decision)}), signoffs_check(decision)],
        tags=label,
    )


def lineage(versions: dict[dg.AssetKey, str], used: dict[str, str]) -> dict:
    """What the decision was made on, kept in its record: the data version (sha256) of every
    input and, per evidence kind, the run whose materialization it used."""
    return {"inputs": {key.to_user_string(): version for key, version in sorted(versions.items())},
            "evidence_runs": dict(sorted(used.items()))}


def signoffs_check(decision: Decision) -> dg.AssetCheckResult:
    """Fails whenever the decision found a sign-off missing or unverified (and when no decision
    could be made), judged at the time of the decision: the policy's signatures, the card's
    signed reviews (the model_card check judges them too, when it is measured), the committee's word."""
    problems = decision.signoff_problems
    passed = bool(decision.signoffs) and not problems
    shown = problems or (() if passed else ("the decision could not be made",))
    return dg.AssetCheckResult(
        check_name="signoffs_verified", passed=passed, severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(shown)[:300] or "; ".join(decision.signoffs)[:300],
        metadata={"sign-offs": plain_table([{"signed": line} for line in decision.signoffs]
                                           or [{"signed": "nothing verified"}]),
                  "problems": dg.MetadataValue.int(len(shown))})


def _decide(context, config, inventory, model, observed, versions) -> Decision:
    """Decide, then sign the decision with this gate's key (a key that cannot sign blocks)."""
    import dataclasses

    policy = inventory.policy()
    try:
        signer = gate_signer(policy.people)
    except AttestationError as exc:
        decision = decide(gather(context, config, inventory, model, observed, versions, None))
        return dataclasses.replace(decision, approved=False, reasons=(*decision.reasons, str(exc)),
                                   signoff_problems=(*decision.signoff_problems, str(exc)))
    decision = decide(gather(context, config, inventory, model, observed, versions, signer))
    if signer is None:
        return decision
    return dataclasses.replace(decision, attestation=signer.attest(decision, context.run.run_id))


def gather(context, config, inventory, model, observed, versions, signer=None) -> GateFacts:
    """Every fact the decision needs, read once: evidence by fingerprint, governance files with
    their signatures verified, restrictions this instance remembers."""
    from .model_assets import asset_key

    policy, run_id, now = inventory.policy(), context.run.run_id, datetime.now(timezone.utc)
    prints = fingerprints(model, versions)
    verdicts = {kind: evidence_for(context.instance, asset_key(model.name, kind), prints[kind], run_id)
                if kind in prints else None
                for kind in required_kinds(model, policy)}
    card = verdicts.get("model_card")
    validated = card.figures.get("validated_use_cases") if card is not None else None  # valid content
    governance = read_governance(inventory.path, policy, now)
    remembered = remember(context.instance, governance.committee, governance.incidents,
                          governance.reviews, recall(context.instance), governance.policy_trust)
    promotion = (Promotion(config.environment, approved_before(context.instance, model, policy),
                           signer.person.name if signer else None)
                 if config.environment else None)
    return GateFacts(model, policy, governance, verdicts, now, card_under_review(model),
                     remembered, observed, config.use_case, validated, promotion)


def card_under_review(model) -> CardUnderReview | None:
    """The card's bytes digest and owner as they are now (the review is bound to these bytes)."""
    from ..cards.parse import owner_name, parse_card

    parsed = parse_card(model.path(model.entry.card))
    if parsed.sha256 is None:
        return None
    return CardUnderReview(parsed.sha256, owner_name(parsed.header))


HISTORY = 500  # decisions per model searched for earlier environments' approvals


def recorded_decisions(instance: dg.DagsterInstance, model, with_runs: bool = False) -> list:
    """The model's recorded decisions, newest first (at most HISTORY); with `with_runs`, as
    (decision, id of the run that recorded it) pairs."""
    from .model_assets import asset_key

    found = []
    for record in instance.fetch_materializations(asset_key(model.name, "deployment_decision"),
                                                  limit=HISTORY).records:
        value = record.asset_materialization.metadata.get(DECISION_KEY)
        try:
            decision = Decision.from_dict(value.value)
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        found.append((decision, record.run_id) if with_runs else decision)
    return found


def approved_before(instance: dg.DagsterInstance, model, policy) -> tuple[PriorApproval, ...]:
    """Every approval recorded here whose gate signature verifies against the policy's keyring
    and names the run that recorded it (a hand-written materialization proves nothing)."""
    from datetime import datetime

    found = []
    for decision, run_id in recorded_decisions(instance, model, with_runs=True):
        if not (decision.approved and decision.environment):
            continue
        gate, _problem = verify_attestation(decision, policy.people, run_id)
        if gate is not None:
            found.append(PriorApproval(decision.environment, decision.digest, decision.card_digest,
                                       datetime.fromisoformat(decision.decided_at), gate.name))
    return tuple(found)


def decisions_by_environment(instance: dg.DagsterInstance, model) -> dict[str | None, Decision]:
    """The latest decision per environment (None: gated without naming one)."""
    latest: dict[str | None, Decision] = {}
    for decision in recorded_decisions(instance, model):
        latest.setdefault(decision.environment, decision)
    return latest


def decision_metadata(decision: Decision, made_on: dict | None = None) -> dict:
    """Verdict and summary first, as plain text: the UI shows them without a click. The record
    (`decision`, JSON) carries `made_on` (`lineage`) too; Dagster folds a record this long behind
    "[Show JSON]", so its full digests do not widen the table past a 1280 px page."""
    evidence = [{"evidence": kind, "status": status} for kind, status in sorted(decision.evidence.items())]
    return {
        "verdict": dg.MetadataValue.text(decision.label.upper()),
        "summary": dg.MetadataValue.text(decision_summary(decision)),
        "tier": decision.tier,
        "version": decision.version,
        "blocking reasons": dg.MetadataValue.int(len(decision.reasons)),
        "gate signature": dg.MetadataValue.text(
            f"signed by {decision.attestation.get('gate', 'a gate key')} (verified on promotion "
            "and by --remote)" if decision.attestation else "unsigned: this gate has no $AISEC_GATE_KEY"),
        "reasons": decision_reasons(decision),
        "evidence": plain_table(evidence or [{"evidence": "none", "status": ""}]),
        "sign-offs": plain_table([{"signed": line} for line in decision.signoffs]
                                 or [{"signed": "nothing verified"}]),
        DECISION_KEY: dg.MetadataValue.json(json.loads(json.dumps({**decision.to_dict(), **(made_on or {})},
                                                                  default=str))),
    }
