"""`aisec gate`: materialize each selected model's asset group through Dagster, one run per model.

Before each run the gate hashes the model's artifacts (files in parallel) under the run's id; the
run's assets use those digests, and evidence is reused only when its fingerprint (entry, artifact
bytes, files it reads, upstream evidence) equals the current one and it is still fresh. The
decision is read from the run's own events, never from "the latest" (another gate may be running).
A run that ended without a decision is BLOCKED, never approved.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
from pathlib import Path
from typing import Callable

import dagster as dg
from dagster._core.utils import make_new_run_id

from ..evidence_kinds import gating_kinds_for
from ..governance.decision import Decision
from ..governance.policy import Policy, load_policy
from ..inventory import Model
from ..judge import JudgeRefused, instance_home, instance_problem
from ..verdict import Verdict
from .automation import gate_tags
from .decision import DECISION_KEY
from .evidence import (FORCE_TAG, RunInputs, evidence_for, fingerprints, latest_fingerprints,
                       latest_metadata, record_observations, reusable)
from .governance_assets import governance_file_versions
from .keys import asset_key, op_name


def dagster_instance() -> dg.DagsterInstance:
    """The instance under $DAGSTER_HOME, by default in the user's state folder, never a checkout
    (`judge.default_instance_home`; `dagster dev` with the same DAGSTER_HOME shows every gate
    run). An instance holding files tracked by git is refused: it could carry forged evidence."""
    home = instance_home()
    problem = instance_problem(home)
    if problem:
        raise JudgeRefused(problem)
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    # Two gates starting at once on a new SQLite instance would both create its schema (and one
    # fail on the version table): whoever comes second waits until the first has finished.
    with open(home / ".aisec-instance.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not config.exists():
            config.write_text("telemetry:\n  enabled: false\n")
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)  # storages are created lazily: create them under the lock
        instance.fetch_materializations(dg.AssetKey("aisec"), limit=1)
    return instance


class GateInterrupted(Exception):
    """SIGINT/SIGTERM during a gate: no further model is gated."""

    def __init__(self, signum: int, decisions: list[Decision]):
        super().__init__(signum)
        self.signum, self.decisions = signum, decisions


class CouldNotJudge(Exception):
    """The gate could not ask the deployment that judges (unreachable, or answering nonsense):
    nothing was decided, which is not a block (the CLI exits 2 with this one line)."""


def gate_each(models: list[Model], gate_one: Callable[[Model], Decision],
              interrupted_decision: Callable[[Model, int], Decision], interrupted,
              where: str = "") -> list[Decision]:
    """One decision per model, in order. `interrupted()` returns the signal number once the gate
    was asked to stop; the model in flight is then recorded as interrupted (blocked) and
    GateInterrupted ends the gate (the local and the remote gate share this)."""
    decisions: list[Decision] = []
    for index, model in enumerate(models, 1):
        print(f"[{index}/{len(models)}] gating {model.name} {model.entry.version}{where} ...", file=sys.stderr)
        try:
            decision = gate_one(model)
        except KeyboardInterrupt:
            decision = None
        if decision is None or interrupted():
            signum = interrupted() or signal.SIGINT
            decisions.append(interrupted_decision(model, signum))
            raise GateInterrupted(signum, decisions)
        decisions.append(decision)
    return decisions


def evidence_to_measure(model: Model, prints: dict[str, str], policy: Policy, force: bool,
                        recorded: Callable[[str, str], Verdict | None]) -> set[str]:
    """Evidence kinds to (re)measure: all with `force`, else those with no fresh evidence
    measured on exactly the current fingerprint. `recorded(kind, fingerprint)` finds it."""
    kinds = [k.name for k in gating_kinds_for(model)]
    if force:
        return set(kinds)
    max_age = policy.tier_for(model.entry).evidence_max_age_hours
    return {kind for kind in kinds if not reusable(recorded(kind, prints[kind]), max_age)}


def evidence_to_run(model: Model, prints: dict[str, str], measure: set[str],
                    latest: dict[str, str | None]) -> list[str]:
    """Evidence kinds a gate run selects (then the decision): those to measure, and those whose
    latest materialization was measured on other inputs although evidence for these exists (a
    revert): the run records that evidence again without measuring (`model_assets`), so Dagster's
    lineage and stale badges show what the decision used. `latest`: kind -> fingerprint of its
    latest materialization."""
    return sorted(measure | {k.name for k in gating_kinds_for(model) if latest.get(k.name) != prints[k.name]})


def latest_evidence_prints(instance: dg.DagsterInstance, model: Model) -> dict[str, str | None]:
    kinds = [k.name for k in gating_kinds_for(model)]
    found = latest_fingerprints(instance, [asset_key(model.name, kind) for kind in kinds])
    return {kind: found[asset_key(model.name, kind)] for kind in kinds}


def gate_run_tags(model: Model, trigger: str, force: bool = False) -> dict[str, str]:
    return {**gate_tags(model, trigger), **({FORCE_TAG: "true"} if force else {})}


class Gate:
    """The gate over one inventory: its Dagster definitions, wired to this gate's own reading
    of each run's inputs."""

    def __init__(self, root: Path, instance: dg.DagsterInstance):
        from .component import inventory_definitions

        self.root, self.instance = root, instance
        self.inputs = RunInputs()
        self._run_id: str | None = None  # the run of the model in flight
        self.job = inventory_definitions(root, self.inputs).resolve_implicit_global_asset_job_def()

    def run(self, models: list[Model], use_case: str | None = None, force: bool = False,
            interrupted=lambda: None, environment: str | None = None) -> list[Decision]:
        """See `gate_each`."""
        policy = load_policy(self.root)

        def one(model: Model) -> Decision:
            self._run_id = make_new_run_id()
            try:
                return self.gate_one(model, policy, use_case, force, self._run_id, environment)
            finally:
                self.inputs.forget(self._run_id)

        return gate_each(models, one, self.interrupted, interrupted)

    def gate_one(self, model: Model, policy: Policy, use_case: str | None, force: bool,
                 run_id: str, environment: str | None = None) -> Decision:
        _, versions = self.inputs.measure(model, self.root, run_id)
        record_observations(self.instance, {**governance_file_versions(self.root), **versions})
        prints = fingerprints(model, versions)
        measure = evidence_to_measure(
            model, prints, policy, force,
            lambda kind, fingerprint: evidence_for(self.instance, asset_key(model.name, kind), fingerprint))
        reused = [k.name for k in gating_kinds_for(model) if k.name not in measure]
        if reused:
            print(f"    reusing {', '.join(reused)}: measured on the same bytes and inputs",
                  file=sys.stderr)
        selected = evidence_to_run(model, prints, measure, latest_evidence_prints(self.instance, model))
        keys = [asset_key(model.name, kind) for kind in selected]
        keys.append(asset_key(model.name, "deployment_decision"))
        decision_op = op_name(asset_key(model.name, "deployment_decision"))
        run_config = {"ops": {decision_op: {"config": {"use_case": use_case, "environment": environment}}},
                      "loggers": {"console": {"config": {"log_level": "CRITICAL"}}, "progress": {}}}
        result = self.job.execute_in_process(
            instance=self.instance, asset_selection=keys, run_config=run_config,
            raise_on_error=False, tags=gate_run_tags(model, "cli", force), run_id=run_id)
        return decision_of_run(result, model)

    def interrupted(self, model: Model, signum: int) -> Decision:
        run_id = self._run_id or "none"
        if self._run_id and self.instance.has_run(run_id):
            self.instance.add_run_tags(run_id, {"aisec/interrupted": str(signum)})
        return Decision(model.name, model.entry.version, "unknown", False,
                        (f"the gate was interrupted (signal {signum}) while run {run_id[:8]} gated "
                         "this model: never approved; gate it again",))


def decision_of_run(result: dg.ExecuteInProcessResult, model: Model) -> Decision:
    """The decision this run recorded, read from its own events."""
    key = asset_key(model.name, "deployment_decision")
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        value = materialization.metadata.get(DECISION_KEY)
        if materialization.asset_key == key and value is not None:
            return Decision.from_dict(value.value)
    return Decision(model.name, model.entry.version, "unknown", False,
                    (f"the gate run {result.run_id[:8]} ended without a decision; see it in the "
                     "Dagster UI",))


def latest_decision(instance: dg.DagsterInstance, model: Model) -> tuple[Decision, str] | None:
    """The model's latest recorded decision and the run that made it (for display only)."""
    latest = latest_metadata(instance, asset_key(model.name, "deployment_decision"), DECISION_KEY)
    return (Decision.from_dict(latest[1]), latest[0]) if latest else None
