"""Sensors and schedules: re-evaluation on new versions, drift checks, the committee pack.

New versions are found by a sensor with a cursor rather than by declarative automation on the
observed artifact: the registry's (version, digest) is the declared identity of what may ship, so
reading it is cheap (no hashing of gigabytes per tick), a run_key makes each digest gate exactly
once even if the cursor is lost, and each run is tagged with model, version and digest. Bytes that
drift from the registry without a registry change are caught by the scan's checksum verification.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from ..inventory import InventoryError, Model, load_inventory
from .model_assets import dagster_name

GATE_JOB = "gate_models"
DRIFT_JOB = "production_drift"
INJECTION_JOB = "injection_rescan"
PACK_JOB = "committee_pack"


def gate_tags(model: Model, trigger: str) -> dict[str, str]:
    return {"aisec/model": model.name, "aisec/version": model.entry.version,
            "aisec/digest": model.entry.digest, "aisec/trigger": trigger}


def registry_state(models: list[Model]) -> dict[str, str]:
    return {m.name: f"{m.entry.version}@{m.entry.digest}" for m in models}


def new_version_sensor(root: Path) -> dg.SensorDefinition:
    @dg.sensor(name="new_model_versions", job_name=GATE_JOB, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Gates a model once per new registry version/digest.")
    def new_model_versions(context: dg.SensorEvaluationContext):
        try:
            models = load_inventory(root)
        except InventoryError as exc:
            return dg.SkipReason(f"inventory invalid, nothing gated: {exc}")
        seen = json.loads(context.cursor) if context.cursor else {}
        state = registry_state(models)
        requests = [
            dg.RunRequest(run_key=f"{m.name}:{state[m.name]}", asset_selection=_keys(context, m),
                          tags=gate_tags(m, "new-version"))
            for m in models if seen.get(m.name) != state[m.name]
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(state, sort_keys=True))

    return new_model_versions


def _keys(context, model: Model) -> list[dg.AssetKey]:
    prefix = dagster_name(model.name)
    graph = context.repository_def.asset_graph
    return [k for k in graph.materializable_asset_keys if k.path[0] == prefix]


def kind_selection(kind: str) -> dg.AssetSelection:
    """Every model's `kind` asset and the decision downstream of it."""
    evidence = dg.AssetSelection.key_substring(kind)  # keys are [model, kind]
    return evidence | evidence.downstream(depth=1)


def automation_definitions(models: list[Model], root: Path) -> dg.Definitions:
    gate_job = dg.define_asset_job(
        GATE_JOB, selection=dg.AssetSelection.all() - dg.AssetSelection.groups("governance"),
        description="Gate registered models: all evidence, then the decision.")
    injection_job = dg.define_asset_job(INJECTION_JOB, selection=kind_selection("injection_report"),
                                        tags={"aisec/evidence": "injection_report"},
                                        description="Re-run every LLM's injection battery (new probes appear).")
    drift_job = dg.define_asset_job(DRIFT_JOB, selection=dg.AssetSelection.key_substring("production_bias"),
                                    description="Compare production predictions with the approved baseline.")
    schedules = [
        dg.ScheduleDefinition(name="daily_production_drift", job=drift_job, cron_schedule="0 6 * * *",
                              default_status=dg.DefaultScheduleStatus.RUNNING),
        dg.ScheduleDefinition(name="weekly_injection_rescan", job=injection_job, cron_schedule="0 3 * * 1",
                              default_status=dg.DefaultScheduleStatus.RUNNING),
    ]
    return dg.Definitions(jobs=[gate_job, injection_job, drift_job], schedules=schedules,
                          sensors=[new_version_sensor(root)])
