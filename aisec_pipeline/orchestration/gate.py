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
from .decision import DECISION_KEY
from .model_assets import asset_key, dagster_name


def dagster_instance() -> dg.DagsterInstance:
    """The instance under $DAGSTER_HOME, by default `.dagster_home` in the current directory, so
    that `dagster dev` started from the same folder shows every gate run."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path.cwd() / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").touch(exist_ok=True)
    return dg.DagsterInstance.get()


def gate_models(defs: dg.Definitions, models: list[Model], instance: dg.DagsterInstance,
                use_case: str | None = None) -> list[Decision]:
    job = defs.resolve_implicit_global_asset_job_def()
    decisions = []
    for index, model in enumerate(models, 1):
        print(f"[{index}/{len(models)}] gating {model.name} {model.entry.version} ...", file=sys.stderr)
        decisions.append(gate_one(job, model, instance, use_case))
    return decisions


def gate_one(job, model: Model, instance: dg.DagsterInstance, use_case: str | None) -> Decision:
    keys = [k for k in job.asset_layer.asset_graph.get_all_asset_keys()
            if k.path[0] == dagster_name(model.name) and k.path[-1] != "artifact"]
    decision_op = "__".join(asset_key(model.name, "deployment_decision").path)
    run_config = {"ops": {decision_op: {"config": {"use_case": use_case}}},
                  "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    result = job.execute_in_process(
        instance=instance, asset_selection=keys, run_config=run_config, raise_on_error=False,
        tags={"aisec/model": model.name, "aisec/version": model.entry.version,
              "aisec/digest": model.entry.digest, "aisec/trigger": "cli"})
    return decision_of_run(instance, model, result.run_id)


def decision_of_run(instance: dg.DagsterInstance, model: Model, run_id: str) -> Decision:
    event = instance.get_latest_materialization_event(asset_key(model.name, "deployment_decision"))
    if event is None or event.run_id != run_id or event.asset_materialization is None:
        return Decision(model.name, model.entry.version, "unknown", False,
                        (f"the gate run {run_id[:8]} ended without a decision; see it in the Dagster UI",))
    data = event.asset_materialization.metadata[DECISION_KEY].value
    return Decision(data["name"], data["version"], data["tier"], data["decision"] == "approved",
                    tuple(data["reasons"]), dict(data["evidence"]), data["decided_at"])


def last_decision(instance: dg.DagsterInstance, model: Model) -> Decision | None:
    event = instance.get_latest_materialization_event(asset_key(model.name, "deployment_decision"))
    if event is None or event.asset_materialization is None:
        return None
    return decision_of_run(instance, model, event.run_id)
