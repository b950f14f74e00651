"""The instance's memory of restrictions (`governance.memory`), kept in Dagster's event log.

Each batch of newly seen restrictions is one observation of `governance/restrictions_seen`:
append-only, so concurrent gates never overwrite each other, and visible in the UI with its
history. Reading merges every batch ever written.
"""

import dagster as dg

from ..cards.review import ReviewLog
from ..governance.committee import Register
from ..governance.incidents import IncidentLog
from ..governance.memory import Remembered, from_records, restrictions_in, to_records, unseen

MEMORY_KEY = dg.AssetKey(["governance", "restrictions_seen"])
RECORDS = "restrictions"
PAGE = 500

MEMORY_SPEC = dg.AssetSpec(
    MEMORY_KEY, group_name="governance",
    description="Committee blocks/deferrals, open serious incidents and requested card changes "
                "this instance has seen. "
                "They bind even after their lines are removed from the files (docs/governance.md).")


def recall_from_instance() -> Remembered:
    """What the instance in $DAGSTER_HOME has seen, for `aisec committee verify` and
    `aisec incident verify`: the only place those commands touch Dagster."""
    from .gate import dagster_instance

    return recall(dagster_instance())


def recall(instance: dg.DagsterInstance) -> Remembered:
    batches, cursor = [], None
    while True:
        result = instance.fetch_observations(MEMORY_KEY, limit=PAGE, cursor=cursor)
        for record in result.records:
            observation = record.asset_observation
            value = observation.metadata.get(RECORDS) if observation else None
            if value is not None and isinstance(value.value, dict):
                batches.append(value.value)
        if not result.has_more:
            return from_records(batches)
        cursor = result.cursor


def remember(instance: dg.DagsterInstance, register: Register, log: IncidentLog,
             reviews: ReviewLog, known: Remembered, trust=None) -> Remembered:
    """Record the restrictions these files hold, and the policy version in force (`trust`), that
    the instance has not seen; returns all known."""
    new = unseen(restrictions_in(register, log, reviews, trust), known)
    if new:
        instance.report_runless_asset_event(dg.AssetObservation(
            MEMORY_KEY, metadata={RECORDS: dg.MetadataValue.json(to_records(new)),
                                  "committee_records": len(new.committee),
                                  "incidents": len(new.incidents),
                                  "card_changes_requested": len(new.card_reviews),
                                  "policy_versions": len(new.policy_heads)}))
    return known + new
