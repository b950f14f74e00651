"""Sensors and schedules: re-evaluation on new versions and changed inputs, drift checks, the
committee pack.

The gate sensor compares each model's gate state (the registry's version and digest, and the data
versions of the small files its evidence reads: entry, card, evaluation data, system prompt,
signature, policy, card reviews) with the state its last decision was made on. Artifact bytes
are not hashed per tick (gigabytes); the registry's digest is the declared identity, and bytes
that drift from it are caught by the gate, which hashes them on every run. On its first tick
(a new deployment, or `dagster dev` opened after the CLI gated everything) the sensor starts from
what the instance already decided, so opening the UI re-gates nothing. A model whose last
decision is older than its tier's evidence window is re-gated too (checked at most hourly).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from ..inventory import InventoryError, Model, load_inventory

GATE_JOB = "gate_models"
DRIFT_JOB = "production_drift"
INJECTION_JOB = "injection_rescan"
PACK_JOB = "committee_pack"
STATE_KEY = "gate_state"  # decision metadata: the gate state the decision was made on
STALE_CHECK_SECONDS = 3600


def gate_tags(model: Model, trigger: str) -> dict[str, str]:
    return {"aisec/model": model.name, "aisec/version": model.entry.version,
            "aisec/digest": model.entry.digest, "aisec/trigger": trigger}


def gate_state(model: Model, versions: dict[dg.AssetKey, str]) -> str:
    """`version@digest#inputs`: what a decision depends on, from the data versions of its input
    files (`evidence.file_versions`; the artifact's bytes are never hashed per tick)."""
    from .keys import asset_key

    artifact = asset_key(model.name, "artifact")
    files = {key.to_user_string(): v for key, v in versions.items() if key != artifact}
    inputs = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    return f"{model.entry.version}@{model.entry.digest}#{inputs}"


def decided_states(instance: dg.DagsterInstance, models: list[Model]) -> dict[str, str]:
    """The gate state each model's latest recorded decision was made on."""
    from .evidence import latest_metadata
    from .keys import asset_key

    states = {}
    for model in models:
        latest = latest_metadata(instance, asset_key(model.name, "deployment_decision"), STATE_KEY)
        if latest is not None:
            states[model.name] = latest[1]
    return states


def new_version_sensor(root: Path) -> dg.SensorDefinition:
    @dg.sensor(name="new_model_versions", job_name=GATE_JOB, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Gates a model when its version, digest or inputs change, or its last "
                           "decision is older than its tier's evidence window.")
    def new_model_versions(context: dg.SensorEvaluationContext):
        try:
            models = load_inventory(root)
        except InventoryError as exc:
            return dg.SkipReason(f"inventory invalid, nothing gated: {exc}")
        cursor = json.loads(context.cursor) if context.cursor else {}
        seen = cursor.get("states") if "states" in cursor else decided_states(context.instance, models)
        from .evidence import file_versions, governance_versions

        shared = governance_versions(root)
        state = {m.name: gate_state(m, file_versions(m, root, shared)) for m in models}
        requests = [dg.RunRequest(run_key=f"{m.name}:{state[m.name]}", asset_selection=_keys(context, m),
                                  tags=gate_tags(m, "new-version"))
                    for m in models if seen.get(m.name) != state[m.name]]
        checked = cursor.get("stale_checked", 0)
        if time.time() - checked >= STALE_CHECK_SECONDS:
            requested = {r.tags["aisec/model"] for r in requests}
            requests += _expired(context, root, [m for m in models if m.name not in requested], state)
            checked = time.time()
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(
            {"states": state, "stale_checked": checked}, sort_keys=True))

    return new_model_versions


def _expired(context, root: Path, models: list[Model], state: dict[str, str]) -> list[dg.RunRequest]:
    """Models whose latest decision is older than their tier's evidence window."""
    from ..governance.policy import load_policy
    from .gate import latest_decision

    policy, now, requests = load_policy(root), datetime.now(timezone.utc), []
    for model in models:
        latest = latest_decision(context.instance, model)
        if latest is None:
            continue
        age = now - datetime.fromisoformat(latest[0].decided_at)
        if age.total_seconds() / 3600 >= policy.tier_for(model.entry).evidence_max_age_hours:
            requests.append(dg.RunRequest(
                run_key=f"{model.name}:{state[model.name]}:refresh:{latest[0].decided_at}",
                asset_selection=_keys(context, model), tags=gate_tags(model, "evidence-stale")))
    return requests


def _keys(context, model: Model) -> list[dg.AssetKey]:
    graph = context.repository_def.asset_graph
    return [k for k in graph.materializable_asset_keys if k.path[0] == model.name]


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
