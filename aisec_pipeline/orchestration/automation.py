"""Sensors and schedules: re-evaluation on new versions and changed inputs, drift checks, the
committee pack.

The gate sensor watches every input file (registry entries, cards, evaluation data, system
prompts, signatures, artifacts, governance files) cheaply: a file is hashed again only when its
size or mtime moved, and its content decides. What changed is recorded as observations of the
source assets, so Dagster shows the evidence that reads a changed file as stale before anyone
gates. A model whose gate state (version, digest and the data versions of its input files)
differs from the state its latest decision was made on is gated with the same selection the CLI
uses (`gate.evidence_to_run`): the evidence whose inputs changed, then the decision. A model the
running deployment has not loaded yet (added or renamed since the definitions were loaded) is
gated on its own by the `gate_unlisted_model` job, never by an empty selection (which would run
every model). On its first tick the sensor starts from what the instance already decided, so
opening the UI re-gates nothing. A model whose last decision is older than its tier's evidence
window is re-gated too (checked at most hourly).
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
UNLISTED_JOB = "gate_unlisted_model"
UNLISTED_OP = "gate_unlisted"
DRIFT_JOB = "production_drift"
INJECTION_JOB = "injection_rescan"
PACK_JOB = "committee_pack"
STATE_KEY = "gate_state"  # decision metadata: the gate state the decision was made on
STALE_CHECK_SECONDS = 3600


def gate_tags(model: Model, trigger: str) -> dict[str, str]:
    return {"aisec/model": model.name, "aisec/version": model.entry.version,
            "aisec/digest": model.entry.digest, "aisec/trigger": trigger}


def gate_state(model: Model, versions: dict[dg.AssetKey, str]) -> str:
    """`version @ digest # inputs`: what a decision depends on, from the data versions of its input
    files (`evidence.file_versions`; the registry's digest stands for the artifact's bytes; a
    governance ledger by the lines that concern this model, so a committee record, incident or
    review about one model re-gates that model only). Short words: the UI shows it beside the
    decision's summary, and one 64-digit word would widen the metadata column past the page's
    right edge (the registry entry, digests included, is one of the inputs, so the digest's first
    16 digits lose nothing)."""
    from .keys import asset_key

    artifact = asset_key(model.name, "artifact")
    files = {key.to_user_string(): v for key, v in versions.items() if key != artifact}
    inputs = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    return f"{model.entry.version} @ {model.entry.digest[:16]} # {inputs}"


def decided_states(instance: dg.DagsterInstance, models: list[Model]) -> dict[str, str]:
    """The gate state each model's latest recorded decision was made on (one batched query)."""
    return {name: latest["state"] for name, latest in latest_decisions(instance, models).items()
            if latest["state"] is not None}


def latest_decisions(instance: dg.DagsterInstance, models: list[Model]) -> dict[str, dict]:
    """Per model with a recorded decision: the gate state it was made on and when it was made
    (`decided_at`, None when unreadable), read in one batched query."""
    from .decision import DECISION_KEY
    from .keys import asset_key

    keys = {asset_key(m.name, "deployment_decision"): m.name for m in models}
    found = {}
    for record in instance.get_asset_records(list(keys)) if keys else ():
        latest = record.asset_entry.last_materialization_record
        event = latest.event_log_entry.asset_materialization if latest else None
        if event is None:
            continue
        state, decision = event.metadata.get(STATE_KEY), event.metadata.get(DECISION_KEY)
        decided_at = decision.value.get("decided_at") if decision is not None and isinstance(
            decision.value, dict) else None
        found[keys[record.asset_entry.asset_key]] = {
            "state": state.value if state is not None else None, "decided_at": decided_at}
    return found


def watched_versions(models: list[Model], root: Path, files) -> tuple[dict[str, dict], dict]:
    """Per model, the data version of each of its source assets (artifact included), and the
    governance files' versions; `files` (`watch.FileHashes`) hashes only what moved."""
    from ..inventory.digest import model_digest
    from .evidence import GOVERNANCE_INPUT_FILES, file_versions
    from .governance_assets import governance_file_versions
    from .keys import asset_key, governance_key

    governance = governance_file_versions(root, files.sha256)
    read = {governance_key(name): governance[governance_key(name)] for name in GOVERNANCE_INPUT_FILES}
    per_model = {}
    for model in models:
        artifacts = {a.path: files.sha256(model.path(a.path)) for a in model.entry.artifacts}
        per_model[model.name] = {**file_versions(model, root, read, files.sha256),
                                 asset_key(model.name, "artifact"): model_digest(artifacts)}
    return per_model, governance


def observations(instance: dg.DagsterInstance, versions: dict[dg.AssetKey, str],
                 loaded: set[dg.AssetKey]) -> list[dg.AssetObservation]:
    """An observation for every loaded source asset whose data version differs from its latest
    observation in the instance (asked only when some version changed since the last tick)."""
    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    known = latest_observed(instance, 4 * len(versions))
    return [dg.AssetObservation(key, tags={DATA_VERSION_TAG: version}, metadata={"sha256": version})
            for key, version in versions.items()
            if key in loaded and known.get(key.to_user_string()) != version]


def latest_observed(instance: dg.DagsterInstance, limit: int) -> dict[str, str]:
    """The data version of each asset's newest observation among the latest `limit` (one query:
    the instance keeps no per-asset latest observation)."""
    import warnings

    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # get_event_records is deprecated, and the only bulk read
        records = instance.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.ASSET_OBSERVATION),
                                             limit=limit, ascending=False)
    known: dict[str, str] = {}
    for record in records:
        observation = record.event_log_entry.asset_observation
        version = (observation.tags or {}).get(DATA_VERSION_TAG) if observation else None
        if version is not None:
            known.setdefault(record.asset_key.to_user_string(), version)
    return known


class GateRequests:
    """Run requests for one tick: each with a run key that is new for every request (a revert
    A -> B -> A is gated again) and stable when the tick is retried."""

    def __init__(self, context: dg.SensorEvaluationContext, root: Path, count: int):
        from ..governance.policy import load_policy

        self.context, self.root, self.count = context, root, count
        self.policy = load_policy(root)
        self.loaded = context.repository_def.asset_graph.materializable_asset_keys
        self.latest: dict[dg.AssetKey, str | None] = {}

    def prefetch(self, models: list[Model]) -> None:
        """The latest evidence fingerprints of these models, in one query (not one per model)."""
        from ..evidence_kinds import gating_kinds_for
        from .evidence import latest_fingerprints
        from .keys import asset_key

        keys = [asset_key(m.name, k.name) for m in models for k in gating_kinds_for(m)]
        self.latest.update(latest_fingerprints(self.context.instance, keys) if keys else {})

    def request(self, model: Model, versions: dict[dg.AssetKey, str], state: str,
                trigger: str) -> dg.RunRequest:
        from .keys import asset_key

        self.count += 1
        run_key = f"{model.name}:{state}:{self.count}"
        decision = asset_key(model.name, "deployment_decision")
        if decision not in self.loaded:
            return dg.RunRequest(run_key=run_key, job_name=UNLISTED_JOB, tags=gate_tags(model, trigger),
                                 run_config={"ops": {UNLISTED_OP: {"config": {"model": model.name}}}})
        return dg.RunRequest(run_key=run_key, job_name=GATE_JOB, tags=gate_tags(model, trigger),
                             asset_selection=[*self.evidence(model, versions), decision])

    def evidence(self, model: Model, versions: dict[dg.AssetKey, str]) -> list[dg.AssetKey]:
        """The CLI's selection (`gate.evidence_to_run`) on the versions this tick watched."""
        from ..evidence_kinds import gating_kinds_for
        from .evidence import evidence_for, fingerprints
        from .gate import evidence_to_measure, evidence_to_run
        from .keys import asset_key

        instance = self.context.instance
        prints = fingerprints(model, versions)
        if any(asset_key(model.name, k.name) not in self.latest for k in gating_kinds_for(model)):
            self.prefetch([model])
        latest = {k.name: self.latest.get(asset_key(model.name, k.name)) for k in gating_kinds_for(model)}

        def recorded(kind: str, fingerprint: str):
            return evidence_for(instance, asset_key(model.name, kind), fingerprint) if latest.get(kind) else None

        measure = evidence_to_measure(model, prints, self.policy, False, recorded)
        selected = evidence_to_run(model, prints, measure, latest)
        return [asset_key(model.name, kind) for kind in selected]


def new_version_sensor(root: Path, jobs: list) -> dg.SensorDefinition:
    @dg.sensor(name="new_model_versions", jobs=jobs, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Observes every input file (hashing only what moved) and gates a model "
                           "when its version, digest or inputs changed since its latest decision, "
                           "re-measuring only the evidence whose inputs changed; also when its last "
                           "decision is older than its tier's evidence window.")
    def new_model_versions(context: dg.SensorEvaluationContext):
        from .watch import FileHashes

        try:
            models = load_inventory(root)
        except InventoryError as exc:
            return dg.SkipReason(f"inventory invalid, nothing gated: {exc}")
        cursor = json.loads(context.cursor) if context.cursor else {}
        cache = Path(context.instance.storage_directory()) / "aisec" / "sensor" / "file_hashes.json"
        files = FileHashes.load(cache)
        versions, governance = watched_versions(models, root, files)
        files.save(cache)
        everything = {**governance, **{k: v for per in versions.values() for k, v in per.items()}}
        observed = digest_of({k.to_user_string(): v for k, v in everything.items()})
        events = [] if observed == cursor.get("observed") else observations(
            context.instance, everything, context.repository_def.asset_graph.get_all_asset_keys())
        state = {m.name: gate_state(m, versions[m.name]) for m in models}
        states, pending = digest_of(state), dict(cursor.get("pending", {}))
        requests = GateRequests(context, root, cursor.get("requests", 0))
        runs = _changed(context, requests, models, versions, state, pending,
                        everything_changed=states != cursor.get("states"))
        checked = cursor.get("stale_checked", 0)
        if time.time() - checked >= STALE_CHECK_SECONDS:
            requested = {r.tags["aisec/model"] for r in runs}
            runs += _expired(context, requests, [m for m in models if m.name not in requested],
                             versions, state)
            checked = time.time()
        return dg.SensorResult(run_requests=runs, asset_events=events, cursor=json.dumps(
            {"states": states, "observed": observed, "pending": pending, "stale_checked": checked,
             "requests": requests.count}, sort_keys=True))

    return new_model_versions


def digest_of(values: dict) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _changed(context, requests: "GateRequests", models: list[Model], versions: dict,
             state: dict[str, str], pending: dict[str, str], everything_changed: bool) -> list[dg.RunRequest]:
    """Requests for models whose current state is not the state of their latest decision.

    The cursor stays small (Dagster stores it with every tick): a digest of every model's state,
    and `pending`, the state each requested model was requested for until a decision on it is
    recorded. The instance is asked (one batched query) only when some state changed or a request
    is pending. A model already requested for its current state is not requested again; one
    requested for an earlier state (a revert while its run was queued) is."""
    asked = models if everything_changed else [m for m in models if m.name in pending]
    if not asked:
        return []
    decided = decided_states(context.instance, asked)
    need = [m for m in asked if pending.get(m.name) != state[m.name]
            and (decided.get(m.name) != state[m.name] or m.name in pending)]
    for model in asked:
        if decided.get(model.name) == state[model.name] and pending.get(model.name) == state[model.name]:
            del pending[model.name]  # decided on what it was requested for
    for name in [n for n in pending if n not in state]:
        del pending[name]  # no longer in the inventory
    requests.prefetch(need)
    found = []
    for model in need:
        found.append(requests.request(model, versions[model.name], state[model.name], "new-version"))
        pending[model.name] = state[model.name]
    return found


def _expired(context, requests: GateRequests, models: list[Model], versions: dict,
             state: dict[str, str]) -> list[dg.RunRequest]:
    """Models whose latest decision is older than their tier's evidence window (or undated), or
    whose latest evidence has aged out (`lapsed_evidence`)."""
    now, found = datetime.now(timezone.utc), []
    decided = latest_decisions(context.instance, models)
    lapsed = lapsed_evidence(context.instance, [m for m in models if m.name in decided], requests.policy, now)
    for model in models:
        if model.name not in decided:
            continue
        age = decision_age_hours(decided[model.name]["decided_at"], now)
        if age >= requests.policy.tier_for(model.entry).evidence_max_age_hours or model.name in lapsed:
            found.append(requests.request(model, versions[model.name], state[model.name], "evidence-stale"))
    return found


def decision_age_hours(decided_at, now: datetime) -> float:
    """Hours since a decision was made; infinite when its time is unreadable, has no zone or is
    from the future (beyond the clock skew): no reason to keep such a decision standing."""
    from ..clock import age_hours

    age = age_hours(decided_at, now)
    return float("inf") if age is None else age


def lapsed_evidence(instance: dg.DagsterInstance, models: list[Model], policy, now: datetime) -> set[str]:
    """Models with gating evidence measured longer ago than their tier's window allows (or a card
    review that lapsed). Dagster's freshness badge counts from the latest materialization, which
    a reuse records again; the gate counts from when the evidence was measured: re-gating these
    re-measures that evidence, so the badge and the gate agree (one batched query)."""
    from ..evidence_kinds import gating_kinds_for
    from .evidence import fresh, latest_verdicts
    from .keys import asset_key

    owner = {asset_key(m.name, k.name): m for m in models for k in gating_kinds_for(m)}
    found = set()
    for key, verdict in latest_verdicts(instance, list(owner)).items() if owner else ():
        model = owner[key]
        window = policy.tier_for(model.entry).evidence_max_age_hours
        if verdict is not None and not fresh(verdict, window, now):
            found.add(model.name)
    return found


def unlisted_model_job(root: Path) -> dg.JobDefinition:
    """Gates one model through the CLI's path (`gate.Gate`: its own run of its own assets), for a
    model added or renamed after the deployment loaded its definitions. Reload the code location
    to see its assets in the catalog."""

    @dg.op(name=UNLISTED_OP, config_schema={"model": dg.Field(str, description="the model's name")})
    def gate_unlisted(context) -> None:
        from .gate import Gate

        name = context.op_config["model"]
        models = [m for m in load_inventory(root) if m.name == name]
        if not models:
            raise dg.Failure(f"{name} is no longer in the inventory: nothing to gate")
        decision = Gate(root, context.instance).run(models)[0]
        context.log.info(f"{decision.model} {decision.version}: {decision.label.upper()}"
                         + (f": {'; '.join(decision.reasons)}" if decision.reasons else ""))

    @dg.job(name=UNLISTED_JOB, executor_def=dg.in_process_executor,
            description="Gate a model the loaded definitions do not hold yet (added or renamed "
                        "since they were loaded), through the CLI's path; reload to see its assets.")
    def gate_unlisted_model():
        gate_unlisted()

    return gate_unlisted_model


def kind_selection(kind: str, models: list[Model], downstream: bool = True) -> dg.AssetSelection:
    """Exactly the `kind` asset of every model it applies to (by key, never by substring: a model
    named `injection_report_bot` is not an injection report), and the decision downstream of it."""
    from ..evidence_kinds import BY_NAME
    from .keys import asset_key

    evidence = dg.AssetSelection.assets(*(asset_key(m.name, kind) for m in models
                                          if BY_NAME[kind].applies(m)))
    return evidence | evidence.downstream(depth=1) if downstream else evidence


def automation_definitions(models: list[Model], root: Path) -> dg.Definitions:
    from .evidence import FORCE_TAG  # the weekly battery measures again (new probes appear)

    gate_job = dg.define_asset_job(
        GATE_JOB, selection=dg.AssetSelection.all() - dg.AssetSelection.groups("governance"),
        description="Gate registered models: all evidence, then the decision.")
    injection_job = dg.define_asset_job(INJECTION_JOB, selection=kind_selection("injection_report", models),
                                        tags={"aisec/evidence": "injection_report", FORCE_TAG: "true"},
                                        description="Re-run every LLM's injection battery (new probes appear).")
    drift = kind_selection("production_bias", models, downstream=False)
    drift_job = dg.define_asset_job(DRIFT_JOB, selection=drift,
                                    description="Compare production predictions with the approved baseline.")
    schedules = [
        dg.ScheduleDefinition(name="daily_production_drift", job=drift_job, cron_schedule="0 6 * * *",
                              default_status=dg.DefaultScheduleStatus.RUNNING),
        dg.ScheduleDefinition(name="weekly_injection_rescan", job=injection_job, cron_schedule="0 3 * * 1",
                              default_status=dg.DefaultScheduleStatus.RUNNING),
    ]
    unlisted_job = unlisted_model_job(root)
    return dg.Definitions(jobs=[gate_job, injection_job, drift_job, unlisted_job], schedules=schedules,
                          sensors=[new_version_sensor(root, [gate_job, unlisted_job])])
