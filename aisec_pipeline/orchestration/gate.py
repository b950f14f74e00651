"""`aisec gate`: materialize each selected model's asset group through Dagster, one run per model.

Each run is tagged with the model, version and artifact digest. The decision is read back from the
instance; a run that ended without a decision for this run is BLOCKED, never approved.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from ..governance.decision import Decision
from ..inventory import Model
from ..governance.policy import load_policy
from .automation import gate_tags
from .decision import DECISION_KEY
from .evidence import inputs_fingerprint, latest_metadata, latest_verdict, reusable
from .model_assets import asset_key, gating_kinds


def dagster_instance() -> dg.DagsterInstance:
    """The instance under $DAGSTER_HOME, by default `.dagster_home` in the current directory, so
    that `dagster dev` started from the same folder shows every gate run."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path.cwd() / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.get()


def gate_models(defs: dg.Definitions, models: list[Model], instance: dg.DagsterInstance,
                root: Path, use_case: str | None = None, force: bool = False) -> list[Decision]:
    job = defs.resolve_implicit_global_asset_job_def()
    policy = load_policy(root)
    decisions = []
    for index, model in enumerate(models, 1):
        stale = evidence_to_measure(instance, model, root, policy, force)
        reused = [k for k in gating_kinds(model) if k.name not in stale]
        note = f" (reusing fresh {', '.join(k.name for k in reused)})" if reused else ""
        print(f"[{index}/{len(models)}] gating {model.name} {model.entry.version}{note} ...", file=sys.stderr)
        decisions.append(gate_one(job, model, instance, stale, use_case))
    return decisions


def evidence_to_measure(instance: dg.DagsterInstance, model: Model, root: Path, policy,
                        force: bool) -> set[str]:
    """Evidence kinds to (re)measure: all with `force`, else those not reusable as they stand."""
    kinds = [k.name for k in gating_kinds(model)]
    if force:
        return set(kinds)
    fingerprint = inputs_fingerprint(model, root)
    max_age = policy.tier_for(model.entry).evidence_max_age_hours
    return {kind for kind in kinds
            if not reusable(latest_verdict(instance, asset_key(model.name, kind)), fingerprint, max_age)}


def gate_one(job, model: Model, instance: dg.DagsterInstance, measure: set[str],
             use_case: str | None) -> Decision:
    keys = [asset_key(model.name, kind) for kind in sorted(measure)]
    keys.append(asset_key(model.name, "deployment_decision"))
    decision_op = "__".join(asset_key(model.name, "deployment_decision").path)
    run_config = {"ops": {decision_op: {"config": {"use_case": use_case}}},
                  "loggers": {"console": {"config": {"log_level": "CRITICAL"}}, "progress": {}}}
    result = job.execute_in_process(
        instance=instance, asset_selection=keys, run_config=run_config, raise_on_error=False,
        tags=gate_tags(model, "cli"))
    return decision_of_run(instance, model, result.run_id)


def decision_of_run(instance: dg.DagsterInstance, model: Model, run_id: str) -> Decision:
    latest = latest_decision(instance, model)
    if latest is None or latest[1] != run_id:
        return Decision(model.name, model.entry.version, "unknown", False,
                        (f"the gate run {run_id[:8]} ended without a decision; see it in the Dagster UI",))
    return latest[0]


def latest_decision(instance: dg.DagsterInstance, model: Model) -> tuple[Decision, str] | None:
    """The model's latest recorded decision and the run that made it."""
    latest = latest_metadata(instance, asset_key(model.name, "deployment_decision"), DECISION_KEY)
    return (Decision.from_dict(latest[1]), latest[0]) if latest else None
