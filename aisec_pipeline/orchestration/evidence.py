"""Verdicts as Dagster metadata and check results; the instance is the evidence store.

Each evidence asset records its verdict as JSON metadata on its materialization, with the
fingerprint of exactly what it was measured on: the registry entry, the artifact bytes (sha256
hashed on this gate, never size or mtime), the files the kind reads and its upstream evidence.
The decision takes, per kind, the newest verdict whose fingerprint equals the one computed now
(its own run's first): evidence of other bytes, other inputs or another inventory never counts,
and an absent verdict is "not assessed", never a pass.
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from ..cards.review import REVIEW_FILE
from ..evidence_kinds import (READS_CARD, READS_EVALUATION, READS_POLICY, READS_REVIEWS,
                              READS_SIGNATURE, READS_SYSTEM_PROMPT, EvidenceKind, code_version,
                              kinds_for, upstream_present)
from ..governance.decision import VALID_UNTIL, evidence_age_hours, stamp
from ..governance.committee import REGISTER_FILE
from ..governance.incidents import INCIDENT_FILE
from ..governance.policy import POLICY_FILE
from ..governance.regulations import REGULATIONS_FILE
from ..governance.scope import ledger_scope
from ..inventory import Model
from ..inventory.digest import model_digest
from ..provenance.digest import sha256_file
from ..verdict import Status, Verdict
from .keys import asset_key, governance_key

VERDICT_KEY = "verdict"
DIGEST_KEY = "artifact_digest"
INPUTS_KEY = "inputs_fingerprint"
OBSERVED_KEY = "artifact_sha256s"
FORCE_TAG = "aisec/force"  # a run tagged "true" re-measures evidence it could reuse
RECENT_EVIDENCE = 25  # materializations per kind searched for one with the current fingerprint
MISSING = "missing"


class RunInputs:
    """What one run judges a model on, read once: each artifact's sha256 (files in parallel) and
    the data version of every input file. Kept per run id and never outliving it: a later run
    reads again, whatever size or mtime say."""

    def __init__(self) -> None:
        self._by_run: dict[tuple[str, str], tuple[dict[str, str], dict[dg.AssetKey, str]]] = {}
        self._lock = threading.Lock()

    def measure(self, model: Model, root: Path, run_id: str) -> tuple[dict[str, str], dict[dg.AssetKey, str]]:
        """Read the model's inputs now, for `run_id` (the gate calls this before the run):
        (artifact path -> sha256 or "missing", source asset key -> data version)."""
        paths = {a.path: model.path(a.path) for a in model.entry.artifacts}
        with ThreadPoolExecutor(max_workers=max(1, min(4, len(paths)))) as pool:
            observed = dict(zip(paths, pool.map(sha256_or_missing, paths.values())))
        measured = observed, input_versions(model, root, observed)
        with self._lock:
            self._by_run[(run_id, model.name)] = measured
        return measured

    def of(self, model: Model, root: Path, run_id: str) -> tuple[dict[str, str], dict[dg.AssetKey, str]]:
        """This run's reading of the model's inputs, measuring them if this run has not yet."""
        with self._lock:
            known = self._by_run.get((run_id, model.name))
        return known if known is not None else self.measure(model, root, run_id)

    def forget(self, run_id: str) -> None:
        with self._lock:
            for key in [k for k in self._by_run if k[0] == run_id]:
                del self._by_run[key]


def sha256_or_missing(path: Path) -> str:
    return sha256_file(path) if path.is_file() else MISSING


# What an evidence kind reads -> the source asset that observes it (per model, or governance).
MODEL_INPUTS = {READS_CARD: "card", READS_EVALUATION: "evaluation_file",
                READS_SYSTEM_PROMPT: "system_prompt", READS_SIGNATURE: "signature",
                READS_REVIEWS: "card_reviews"}
GOVERNANCE_INPUTS = {READS_POLICY: "policy"}
# Shared ledgers a model reads only its own lines of (`governance.scope`): per model, their data
# version covers those lines, so a record about one model makes only that model's assets stale.
SCOPED_LEDGERS = {"card_reviews": REVIEW_FILE, "committee": REGISTER_FILE, "incidents": INCIDENT_FILE}
ALWAYS_READ = ("entry", "artifact")  # every kind reads the registry entry and the artifact bytes


def model_inputs(model: Model) -> dict[str, list[Path]]:
    """The model's own source inputs (name -> files); the artifact's bytes are hashed apart."""
    entry = model.entry
    files = {"entry": [model.entry_file], "card": [model.path(entry.card)]}
    if entry.evaluation:  # the data and the producer's statement binding it to the artifact
        from ..binding.statement import statement_path

        files["evaluation_file"] = [model.path(entry.evaluation.data), statement_path(model)]
    if entry.endpoint:
        files["system_prompt"] = [model.path(entry.endpoint.system_prompt_file)]
    if entry.provenance.signature:
        signature = entry.provenance.signature
        files["signature"] = [model.path(signature.bundle), model.path(signature.public_key)]
    return files


# Governance files every model's decision reads whole (regulations: the Art. 73 dates in reasons).
GOVERNANCE_INPUT_FILES = {"policy": POLICY_FILE, "regulations": REGULATIONS_FILE}


def _sha256_small(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else MISSING


def files_version(paths: list[Path], hash_file: Callable[[Path], str] = _sha256_small) -> str:
    """A file's sha256 ("missing" if absent); several files: the sha256 of their sha256s.
    `hash_file`: how one file is hashed (a sensor's cache confirms only what size or mtime moved)."""
    digests = [hash_file(p) for p in paths]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def governance_versions(root: Path, hash_file: Callable[[Path], str] = _sha256_small) -> dict[dg.AssetKey, str]:
    """The data versions of the governance files every model's evidence may read."""
    return {governance_key(name): files_version([root / relative], hash_file)
            for name, relative in GOVERNANCE_INPUT_FILES.items()}


def file_versions(model: Model, root: Path, governance: dict[dg.AssetKey, str] | None = None,
                  hash_file: Callable[[Path], str] = _sha256_small) -> dict[dg.AssetKey, str]:
    """The data version of every input file of this model, the artifact's bytes excepted.
    `governance`: the governance files' versions, when already read (a sensor tick)."""
    own = {asset_key(model.name, name): files_version(paths, hash_file)
           for name, paths in model_inputs(model).items()}
    own.update({asset_key(model.name, name): ledger_scope(root, relative, model.name, hash_file)
                for name, relative in SCOPED_LEDGERS.items()})
    return {**own, **(governance if governance is not None else governance_versions(root))}


def input_versions(model: Model, root: Path, observed: dict[str, str]) -> dict[dg.AssetKey, str]:
    """The data version of every source asset this model's evidence reads."""
    return {**file_versions(model, root), asset_key(model.name, "artifact"): model_digest(observed)}


def input_keys(kind: EvidenceKind, model: Model) -> list[dg.AssetKey]:
    """The source assets an evidence kind depends on: the same list makes its Dagster deps and
    its fingerprint, so Dagster's stale badge and the gate's re-measuring always agree."""
    keys = [asset_key(model.name, name) for name in ALWAYS_READ]
    present = {**model_inputs(model), **SCOPED_LEDGERS}
    for read in kind.reads:
        if read in GOVERNANCE_INPUTS:
            keys.append(governance_key(GOVERNANCE_INPUTS[read]))
        elif MODEL_INPUTS[read] in present:
            keys.append(asset_key(model.name, MODEL_INPUTS[read]))
    return keys


def fingerprints(model: Model, versions: dict[dg.AssetKey, str]) -> dict[str, str]:
    """Per evidence kind, the sha256 of its code version, the data versions of its source inputs
    and the fingerprints of its upstream evidence (which are those kinds' data versions)."""
    found: dict[str, str] = {}
    for kind in kinds_for(model):
        parts = [code_version(kind.name)]
        parts += [f"{key.to_user_string()}={versions[key]}" for key in input_keys(kind, model)]
        parts += [f"{up}={found[up]}" for up in upstream_present(kind, model)]
        found[kind.name] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return found


def record_observations(instance: dg.DagsterInstance, versions: dict[dg.AssetKey, str]) -> None:
    """Tell Dagster what the gate observed, so its stale badges judge by the same data versions
    (only versions that changed are written)."""
    for key, version in versions.items():
        latest = instance.fetch_observations(key, limit=1).records
        observation = latest[0].asset_observation if latest else None
        if observation is None or (observation.tags or {}).get(DATA_VERSION_TAG) != version:
            instance.report_runless_asset_event(dg.AssetObservation(
                key, tags={DATA_VERSION_TAG: version}, metadata={"sha256": version}))


def verdict_metadata(verdict: Verdict) -> dict[str, Any]:
    """Status and summary first (readable without a click), then the numbers Dagster plots,
    every reason as a table, the verdict itself, and the attachments by name."""
    from .presentation import attachment_metadata, numbers, reasons_table, summary

    metadata: dict[str, Any] = {
        "status": dg.MetadataValue.text(verdict.status.value),
        "summary": dg.MetadataValue.text(summary(verdict.status.value.upper(), verdict.reasons)),
        **numbers(verdict),
        "reasons": reasons_table(verdict.reasons),
        VERDICT_KEY: dg.MetadataValue.json(json.loads(json.dumps(verdict.to_dict(), default=str))),
    }
    metadata.update(attachment_metadata(verdict.attachments))
    return metadata


def check_result(check_name: str, verdict: Verdict, extra: dict | None = None) -> dg.AssetCheckResult:
    """The check's description is the summary (top reasons, then how many more, never cut
    mid-reason) and the verdict's chart, drawn in place; its metadata carries the status, the
    numbers and every reason."""
    from .presentation import check_description, numbers, reasons_table

    return dg.AssetCheckResult(
        check_name=check_name,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=check_description(verdict),
        metadata={"status": dg.MetadataValue.text(verdict.status.value), **numbers(verdict),
                  "reasons": reasons_table(verdict.reasons), **(extra or {})},
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


def bound_verdict(verdict: Verdict, model: Model, fingerprint: str,
                  observed: dict[str, str]) -> Verdict:
    """The verdict stamped with its evaluation time, the registry digest it speaks for, the bytes
    it was measured on and the fingerprint of all its inputs."""
    stamped = stamp(verdict)
    figures = {**stamped.figures, DIGEST_KEY: model.entry.digest, OBSERVED_KEY: dict(observed),
               INPUTS_KEY: fingerprint}
    return Verdict(stamped.kind, stamped.status, stamped.reasons, figures, stamped.attachments)


def reusable(verdict: Verdict | None, max_age_hours: float) -> bool:
    """Evidence that can stand for this gate without re-measuring: found for the current
    fingerprint, measured (not unassessed: that may have been a passing outage) and fresh."""
    if verdict is None or verdict.status is Status.UNASSESSED:
        return False
    return fresh(verdict, max_age_hours, datetime.now(timezone.utc))


def fresh(verdict: Verdict, max_age_hours: float, now: datetime) -> bool:
    """Measured within the window (at a readable time, not from the future) and not past a date
    it holds until: what reuse and the sensor's hourly check both ask of recorded evidence."""
    age = evidence_age_hours(verdict, now)
    return age is not None and age < max_age_hours and not lapsed(verdict, now)


def lapsed(verdict: Verdict, now: datetime) -> bool:
    """A verdict that holds only until a date (a card review's validity) is not reused after it."""
    until = verdict.figures.get(VALID_UNTIL)
    if until is None:
        return False
    try:
        return now >= datetime.fromisoformat(str(until))
    except ValueError:
        return True


def evidence_for(instance: dg.DagsterInstance, key: dg.AssetKey, fingerprint: str,
                 run_id: str | None = None) -> Verdict | None:
    """The newest verdict of `key` measured on exactly `fingerprint`, this run's own first.
    Only a verdict recorded by a run of this instance counts: a materialization reported without
    a run, or naming a run the instance never had, is evidence nobody here measured."""
    found = evidence_record(instance, key, fingerprint, run_id)
    return found[0] if found is not None else None


def evidence_record(instance: dg.DagsterInstance, key: dg.AssetKey, fingerprint: str,
                    run_id: str | None = None) -> tuple[Verdict, str] | None:
    """`evidence_for`, with the id of the run that recorded it."""
    records = instance.fetch_materializations(key, limit=RECENT_EVIDENCE).records
    records = sorted(records, key=lambda r: r.run_id != run_id)  # stable: newest first within
    for record in records:
        verdict = _verdict_of(record.asset_materialization, key)
        if (verdict is not None and verdict.figures.get(INPUTS_KEY) == fingerprint
                and record.run_id and instance.has_run(record.run_id)):
            return verdict, record.run_id
    return None


def evidence_used(instance: dg.DagsterInstance, model: Model, versions: dict[dg.AssetKey, str],
                  run_id: str) -> dict[str, str]:
    """Per gating kind, the run whose materialization the decision uses (the same lookup)."""
    prints = fingerprints(model, versions)
    used = {}
    for kind in kinds_for(model):
        found = evidence_record(instance, asset_key(model.name, kind.name), prints[kind.name], run_id) \
            if kind.gates else None
        if found is not None:
            used[kind.name] = found[1]
    return used


def used_metadata(used: dict[str, str]) -> dict[str, Any]:
    """A link per evidence kind to the run that recorded the materialization the decision used."""
    return {f"evidence used: {kind}": dg.MetadataValue.dagster_run(run) for kind, run in sorted(used.items())}


def latest_fingerprints(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, str | None]:
    """The inputs fingerprint of each asset's latest materialization (one batched query)."""
    return {key: verdict.figures.get(INPUTS_KEY) if verdict else None
            for key, verdict in latest_verdicts(instance, keys).items()}


def latest_verdicts(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, Verdict | None]:
    """The verdict of each asset's latest materialization (one batched query)."""
    found: dict[dg.AssetKey, Verdict | None] = {key: None for key in keys}
    for record in instance.get_asset_records(keys):
        latest = record.asset_entry.last_materialization_record
        event = latest.event_log_entry.asset_materialization if latest else None
        found[record.asset_entry.asset_key] = _verdict_of(event, record.asset_entry.asset_key) if event else None
    return found


def _verdict_of(materialization, key: dg.AssetKey) -> Verdict | None:
    value = materialization.metadata.get(VERDICT_KEY) if materialization else None
    if value is None:
        return None
    try:
        return Verdict.from_dict(value.value)
    except (KeyError, TypeError, ValueError, AttributeError):
        return Verdict.unassessed(key.path[-1], f"recorded evidence for {key.to_user_string()} is unreadable")


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
