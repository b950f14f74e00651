"""Verdicts as Dagster metadata and check results; the instance is the evidence store.

Each evidence asset records its verdict as JSON metadata on its materialization. The decision
reads the latest one per kind: an absent verdict is "not assessed", never a pass.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import dagster as dg

from ..governance.decision import evidence_age_hours, stamp
from ..governance.policy import POLICY_FILE
from ..inventory import Model
from ..inventory.loader import referenced_paths
from ..verdict import Status, Verdict

VERDICT_KEY = "verdict"
DIGEST_KEY = "artifact_digest"
INPUTS_KEY = "inputs_fingerprint"


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


def bound_verdict(verdict: Verdict, model: Model, inventory_root: Path) -> Verdict:
    """The verdict stamped with its evaluation time, the artifact digest it speaks for and the
    fingerprint of the inputs it was measured on."""
    stamped = stamp(verdict)
    figures = {**stamped.figures, DIGEST_KEY: model.entry.digest,
               INPUTS_KEY: inputs_fingerprint(model, inventory_root)}
    return Verdict(stamped.kind, stamped.status, stamped.reasons, figures, stamped.attachments)


def inputs_fingerprint(model: Model, inventory_root: Path) -> str:
    """Everything a model's evidence was measured on, cheaply: the entry, the policy, every small
    file the entry names (card, evaluation data, system prompt, signature), and each artifact's
    size and modification time (its bytes are verified by the scan whenever this changes)."""
    digest = hashlib.sha256(model.entry.model_dump_json().encode())
    small_files = [inventory_root / POLICY_FILE] + [
        model.path(p) for p in referenced_paths(model.entry)
        if p not in {a.path for a in model.entry.artifacts}]
    for path in small_files:
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    for artifact in model.entry.artifacts:
        path = model.path(artifact.path)
        stat = path.stat() if path.is_file() else None
        digest.update(f"{artifact.path}:{stat.st_size}:{stat.st_mtime_ns}".encode() if stat else b"<missing>")
    return digest.hexdigest()


def reusable(verdict: Verdict | None, fingerprint: str, max_age_hours: float) -> bool:
    """Evidence that can stand for this gate run without re-measuring: same inputs, still fresh."""
    if verdict is None or verdict.figures.get(INPUTS_KEY) != fingerprint:
        return False
    age = evidence_age_hours(verdict, datetime.now(timezone.utc))
    return age is not None and age < max_age_hours


def latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey, name: str) -> tuple[str, Any] | None:
    """The run id and the value of metadata `name` on the asset's latest materialization."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(name)
    return (event.run_id, value.value) if value is not None else None


def latest_verdict(instance: dg.DagsterInstance, key: dg.AssetKey) -> Verdict | None:
    latest = latest_metadata(instance, key, VERDICT_KEY)
    if latest is None:
        return None
    try:
        return Verdict.from_dict(latest[1])
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
