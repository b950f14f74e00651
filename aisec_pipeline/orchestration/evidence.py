"""Verdicts as Dagster metadata and check results; the instance is the evidence store.

Each evidence asset records its verdict as JSON metadata on its materialization. The decision
reads the latest one per kind: an absent verdict is "not assessed", never a pass.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import dagster as dg

from ..governance.decision import stamp
from ..verdict import Status, Verdict

VERDICT_KEY = "verdict"
DIGEST_KEY = "artifact_digest"


def verdict_metadata(verdict: Verdict) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "status": verdict.status.value,
        "reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in verdict.reasons) or "none"),
        VERDICT_KEY: dg.MetadataValue.json(json.loads(json.dumps(verdict.to_dict(), default=str))),
    }
    for name, path in verdict.attachments.items():
        metadata[f"attachment: {name}"] = dg.MetadataValue.path(path)
    return metadata


def check_result(check_name: str, verdict: Verdict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(verdict.reasons)[:2000] or verdict.status.value,
        metadata={"status": verdict.status.value},
    )


def run_safely(kind: str, compute: Callable[[], Verdict]) -> Verdict:
    """Fail closed: an exception anywhere in the evidence is UNASSESSED with the error, not a crash."""
    try:
        verdict = compute()
    except Exception as exc:  # noqa: BLE001 - every failure must become a blocking verdict
        return Verdict.unassessed(kind, f"{kind} could not be assessed: {type(exc).__name__}: {exc}")
    if not isinstance(verdict, Verdict):
        return Verdict.unassessed(kind, f"{kind} produced no verdict")
    return verdict


def bound_verdict(verdict: Verdict, digest: str) -> Verdict:
    """The verdict stamped with its evaluation time and the artifact digest it speaks for."""
    stamped = stamp(verdict)
    return Verdict(stamped.kind, stamped.status, stamped.reasons,
                   {**stamped.figures, DIGEST_KEY: digest}, stamped.attachments)


def latest_verdict(instance: dg.DagsterInstance, key: dg.AssetKey) -> Verdict | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(VERDICT_KEY)
    if value is None:
        return None
    try:
        return Verdict.from_dict(value.value)
    except (KeyError, TypeError, ValueError):
        return Verdict.unassessed(key.path[-1], f"recorded evidence for {key.to_user_string()} is unreadable")


def for_current_digest(verdict: Verdict | None, digest: str) -> Verdict | None:
    """Evidence measured on another artifact digest says nothing about this one."""
    if verdict is None or verdict.figures.get(DIGEST_KEY) == digest:
        return verdict
    recorded = verdict.figures.get(DIGEST_KEY, "unknown")
    return Verdict(verdict.kind, Status.UNASSESSED,
                   (f"evidence was measured on artifact digest {str(recorded)[:12]}, the registry now "
                    f"says {digest[:12]}: re-run it",), verdict.figures)
