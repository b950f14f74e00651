"""New versions trigger exactly that model's gate, once per digest; schedules exist."""

from __future__ import annotations

import hashlib

import dagster as dg
import pytest
import yaml

from aisec_pipeline.orchestration.component import inventory_definitions
from inventory_builder import add_llm, add_model, new_inventory, review_card, safetensors_bytes


def tick(defs, instance, cursor=None):
    sensor = defs.resolve_sensor_def("new_model_versions")
    context = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(), cursor=cursor)
    return sensor(context)


@pytest.fixture
def two_models(tmp_path):
    """An inventory of alpha and beta (same weights); returns the root."""
    root = new_inventory(tmp_path / "assets")
    weights = safetensors_bytes(tmp_path)
    add_model(root, "alpha", weights)
    add_model(root, "beta", weights)
    return root


def test_new_digest_requests_exactly_that_models_gate_once(two_models, dagster_home):
    root = two_models
    weights = (root / "models" / "alpha" / "artifacts" / "model.safetensors").read_bytes()
    instance = dg.DagsterInstance.get()
    first = tick(inventory_definitions(root), instance)
    assert sorted(r.tags["aisec/model"] for r in first.run_requests) == ["alpha", "beta"]
    assert tick(inventory_definitions(root), instance, first.cursor).run_requests == []

    entry_file = root / "models" / "alpha" / "model.yaml"
    entry = yaml.safe_load(entry_file.read_text())
    new_bytes = weights.replace(b"dense.weight", b"dense.weighz")
    (root / "models" / "alpha" / "artifacts" / "model.safetensors").write_bytes(new_bytes)
    entry["version"], entry["artifacts"][0]["sha256"] = "1.1.0", hashlib.sha256(new_bytes).hexdigest()
    entry_file.write_text(yaml.safe_dump(entry))

    defs = inventory_definitions(root)
    changed = tick(defs, instance, first.cursor)
    assert len(changed.run_requests) == 1
    request = changed.run_requests[0]
    assert request.tags == {"aisec/model": "alpha", "aisec/version": "1.1.0",
                            "aisec/digest": entry["artifacts"][0]["sha256"], "aisec/trigger": "new-version"}
    assert request.run_key.startswith(f"alpha:1.1.0 @ {entry['artifacts'][0]['sha256'][:16]} # ")
    assert {k.path[0] for k in request.asset_selection} == {"alpha"}
    assert dg.AssetKey(["alpha", "deployment_decision"]) in request.asset_selection
    assert tick(defs, instance, changed.cursor).run_requests == []


def test_a_card_edit_regates_that_model_only(two_models, dagster_home):
    root = two_models
    instance = dg.DagsterInstance.get()
    first = tick(inventory_definitions(root), instance)
    card = root / "models" / "beta" / "card.md"
    card.write_text(card.read_text().replace("Extracts totals", "Extracts the totals"))
    changed = tick(inventory_definitions(root), instance, first.cursor)
    assert [r.tags["aisec/model"] for r in changed.run_requests] == ["beta"]


def test_governance_ledger_edits_regate_the_models_they_concern(two_models, dagster_home, capsys):
    """A committee record, an incident (opened, then closed by id only) or a card review about
    one model re-gates that model's decision alone; a line naming no model concerns everyone."""
    import json

    from signing import demo_key

    from aisec_pipeline.cli import main

    root = two_models
    instance = dg.DagsterInstance.get()
    cursor = tick(inventory_definitions(root), instance).cursor

    def regated() -> list[str]:
        nonlocal cursor
        result = tick(inventory_definitions(root), instance, cursor)
        cursor = result.cursor
        return sorted(r.tags["aisec/model"] for r in result.run_requests)

    assert main(["committee", "record", "--model", "beta", "--decision", "block", "--rationale",
                 "awaiting the audit", "--inventory", str(root)]) == 0
    assert regated() == ["beta"]
    assert main(["incident", "open", "--model", "alpha", "--actor", "Jonas Weber", "--what",
                 "wrong totals", "--severity", "low", "--inventory", str(root)]) == 0
    assert regated() == ["alpha"]
    incident = json.loads((root / "incidents" / "incidents.jsonl").read_text().splitlines()[-1])["incident_id"]
    assert main(["incident", "close", "--id", incident, "--actor", "Helen Okafor", "--what", "fixed",
                 "--key", str(demo_key("Helen Okafor")), "--inventory", str(root)]) == 0
    assert regated() == ["alpha"], "a close event names its incident only, which is alpha's"
    review_card(root, "beta", reviewer="Helen Okafor")
    assert regated() == ["beta"]
    register = root / "committee" / "decisions.jsonl"
    register.write_text(register.read_text() + '{"note": "names no model"}\n')
    assert regated() == ["alpha", "beta"]
    assert regated() == []
    capsys.readouterr()


@pytest.mark.slow
def test_the_first_tick_after_the_cli_gated_everything_requests_nothing(two_models, dagster_home):
    """Opening the UI (a sensor with no cursor yet) must not re-gate what the CLI just gated."""
    from aisec_pipeline.cli import main

    root = two_models
    assert main(["gate", "alpha", "--inventory", str(root)]) == 0
    instance = dg.DagsterInstance.get()
    first = tick(inventory_definitions(root), instance)
    assert [r.tags["aisec/model"] for r in first.run_requests] == ["beta"], "re-gated a gated model"
    assert tick(inventory_definitions(root), instance, first.cursor).run_requests == []


def test_schedules_and_jobs_are_defined(tmp_path):
    root = new_inventory(tmp_path / "assets")
    add_model(root, "alpha", safetensors_bytes(tmp_path))
    defs = inventory_definitions(root)
    names = {s.name: s.cron_schedule for s in defs.schedules}
    assert names["daily_production_drift"] == "0 6 * * *"
    assert names["weekly_injection_rescan"] == "0 3 * * 1"
    assert defs.resolve_sensor_def("new_model_versions").default_status == dg.DefaultSensorStatus.RUNNING



def job_keys(defs, job: str) -> set[str]:
    return {key.to_user_string() for key in defs.resolve_job_def(job).asset_layer.selected_asset_keys}


def test_scheduled_jobs_select_their_kind_by_key_never_by_a_models_name(tmp_path):
    """A model named after a kind is not that kind: the weekly battery and the daily drift
    check select each applicable model's asset by key, not every key containing the word."""
    root = new_inventory(tmp_path / "assets")
    add_model(root, "injection_report_bot", safetensors_bytes(tmp_path))
    add_model(root, "production_bias", safetensors_bytes(tmp_path))
    add_llm(root, "support-bot", safetensors_bytes(tmp_path), "http://127.0.0.1:9/v1")
    defs = inventory_definitions(root)
    assert job_keys(defs, "injection_rescan") == {"support-bot/injection_report",
                                                  "support-bot/deployment_decision"}
    assert job_keys(defs, "production_drift") == set()


# --- the sensor gates what changed, the way the CLI does ----------------------------------------

def ticked(defs, instance, cursor=None):
    """One tick, with its observations written as the daemon writes them."""
    result = tick(defs, instance, cursor)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


def execute(defs, instance, request):
    """Run a request the way the daemon would: its job, its selection, its tags."""
    job = defs.resolve_implicit_global_asset_job_def()
    assert request.asset_selection, "an empty selection runs every model"
    return job.execute_in_process(instance=instance, asset_selection=request.asset_selection,
                                  tags=request.tags, raise_on_error=False)


def stale(defs, instance, key: dg.AssetKey) -> bool:
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
    return resolver.get_status(key) == StaleStatus.STALE


def decision_of(instance, model: str):
    from aisec_pipeline.governance.decision import Decision

    event = instance.get_latest_materialization_event(dg.AssetKey([model, "deployment_decision"]))
    return Decision.from_dict(event.asset_materialization.metadata["decision"].value)


@pytest.mark.slow
def test_a_card_edit_is_stale_before_gating_then_regated_alone_and_a_revert_is_regated(two_models, dagster_home):
    """CLI gate, card edit (observed: stale; the sensor selects the card and the decision only),
    revert (selected again although that state was seen before; the earlier card evidence is
    recorded again, not re-measured); after every path the badges agree with the gate."""
    from aisec_pipeline.cli import main

    root = two_models
    card_key, decision_key = dg.AssetKey(["beta", "model_card"]), dg.AssetKey(["beta", "deployment_decision"])
    assert main(["gate", "alpha", "beta", "--inventory", str(root)]) == 0
    instance = dg.DagsterInstance.get()
    defs = inventory_definitions(root)
    first = ticked(defs, instance)
    assert first.run_requests == [], "the CLI decided on exactly these inputs"
    assert not stale(defs, instance, card_key) and not stale(defs, instance, decision_key)

    card = root / "models" / "beta" / "card.md"
    original = card.read_text()
    card.write_text(original.replace("Extracts totals", "Extracts the totals"))
    edited = ticked(defs, instance, first.cursor)
    assert [e.asset_key for e in edited.asset_events] == [dg.AssetKey(["beta", "card"])]
    assert stale(defs, instance, card_key), "the UI shows the edited card's evidence stale before any gate"
    [request] = edited.run_requests
    assert request.asset_selection == [card_key, decision_key], "only what read the card, then the decision"
    run = execute(defs, instance, request)
    assert run.success, "a block is a decision, not a failed run"
    assert instance.get_run_by_id(run.run_id).tags["aisec/decision"] == "blocked"
    assert not decision_of(instance, "beta").approved, "the edited card lacks a review"
    assert not stale(defs, instance, card_key) and not stale(defs, instance, decision_key)
    scans = len(instance.fetch_materializations(dg.AssetKey(["beta", "artifact_scan"]), limit=10).records)

    card.write_text(original)
    reverted = ticked(defs, instance, edited.cursor)
    [request] = reverted.run_requests
    assert request.asset_selection == [card_key, decision_key]
    assert request.run_key not in {r.run_key for r in edited.run_requests}
    run = execute(defs, instance, request)
    assert run.success
    decision = decision_of(instance, "beta")
    assert decision.approved, decision.reasons
    card_event = instance.get_latest_materialization_event(card_key).asset_materialization
    assert "reused from run" in card_event.metadata, "the reverted card's evidence was reused"
    used = instance.get_latest_materialization_event(decision_key).asset_materialization.metadata
    assert used["evidence used: model_card"].value == run.run_id, "this run's record, which links its source"
    assert instance.has_run(used["evidence used: artifact_scan"].value), "linked to the run that measured it"
    assert len(instance.fetch_materializations(dg.AssetKey(["beta", "artifact_scan"]), limit=10).records) == scans
    assert not stale(defs, instance, card_key) and not stale(defs, instance, decision_key)
    assert ticked(defs, instance, reverted.cursor).run_requests == []


@pytest.mark.slow  # executes a Dagster run
def test_a_model_the_loaded_definitions_lack_is_gated_on_its_own(two_models, dagster_home, tmp_path):
    root = two_models
    instance = dg.DagsterInstance.get()
    loaded = inventory_definitions(root)  # what a running deployment holds
    first = tick(loaded, instance)
    add_model(root, "gamma", safetensors_bytes(tmp_path), reviewed=False)  # reviews: every card's input
    [request] = tick(loaded, instance, first.cursor).run_requests
    assert request.tags["aisec/model"] == "gamma"
    assert request.job_name == "gate_unlisted_model" and request.asset_selection is None
    assert request.run_config == {"ops": {"gate_unlisted": {"config": {"model": "gamma"}}}}
    run = loaded.resolve_job_def("gate_unlisted_model").execute_in_process(
        instance=instance, run_config=request.run_config, tags=request.tags)
    assert run.success, "a block is a decision, not a failed run"
    decision = decision_of(instance, "gamma")
    assert not decision.approved and any("review" in r for r in decision.reasons), decision.reasons
    assert not instance.get_latest_materialization_event(dg.AssetKey(["alpha", "artifact_scan"])), \
        "no other model's evidence"


def test_a_touched_but_unchanged_file_is_hashed_again_but_not_observed(two_models, dagster_home):
    import os

    from aisec_pipeline.orchestration.watch import FileHashes

    root = two_models
    card = root / "models" / "alpha" / "card.md"
    files = FileHashes()
    digest = files.sha256(card)
    again = FileHashes(files.entries)
    assert again.sha256(card) == digest and again.hashed == 0, "size and mtime unchanged: not read"
    os.utime(card, ns=(card.stat().st_atime_ns, card.stat().st_mtime_ns + 10**9))
    touched = FileHashes(again.entries)
    assert touched.sha256(card) == digest and touched.hashed == 1, "moved mtime: content decides"
    assert FileHashes().sha256(root / "nowhere.md") == "missing"

    instance = dg.DagsterInstance.get()
    defs = inventory_definitions(root)
    first = tick(defs, instance)
    assert {e.asset_key.path[0] for e in first.asset_events} == {"alpha", "beta", "governance"}
    for event in first.asset_events:
        instance.report_runless_asset_event(event)
    os.utime(card, ns=(card.stat().st_atime_ns, card.stat().st_mtime_ns + 10**9))
    quiet = tick(defs, instance, first.cursor)
    assert quiet.asset_events == [] and quiet.run_requests == []
    assert "card.md" not in quiet.cursor and len(quiet.cursor) < 1000, "Dagster stores the cursor with every tick"
    assert tick(inventory_definitions(root), instance).asset_events == [], \
        "without a cursor, the instance's observations say what is known"


@pytest.mark.slow
def test_a_decision_older_than_its_window_is_regated_with_its_evidence_remeasured(two_models, dagster_home,
                                                                                  monkeypatch):
    from datetime import datetime, timedelta, timezone

    from aisec_pipeline.cli import main
    from aisec_pipeline.orchestration import automation, evidence

    root = two_models
    assert main(["gate", "alpha", "beta", "--inventory", str(root)]) == 0
    instance = dg.DagsterInstance.get()
    assert tick(inventory_definitions(root), instance).run_requests == []

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz or timezone.utc) + timedelta(days=400)

    monkeypatch.setattr(automation, "datetime", Later)
    monkeypatch.setattr(evidence, "datetime", Later)
    later = tick(inventory_definitions(root), instance)
    assert sorted(r.tags["aisec/model"] for r in later.run_requests) == ["alpha", "beta"]
    assert {r.tags["aisec/trigger"] for r in later.run_requests} == {"evidence-stale"}
    assert sorted(k.path[1] for k in later.run_requests[0].asset_selection) == \
        ["artifact_scan", "deployment_decision", "model_card"], "aged-out evidence is measured again"


def test_evidence_recorded_again_ages_from_when_it_was_measured(two_models, dagster_home):
    """A reuse records a verdict again (a new materialization, fresh to Dagster's freshness
    policy); the hourly check counts from when it was measured and re-gates it once aged out."""
    import json
    from datetime import datetime, timedelta, timezone

    from aisec_pipeline.governance.decision import EVALUATED_AT
    from aisec_pipeline.governance.policy import load_policy
    from aisec_pipeline.inventory import load_inventory
    from aisec_pipeline.orchestration.automation import lapsed_evidence
    from aisec_pipeline.orchestration.evidence import VERDICT_KEY
    from aisec_pipeline.orchestration.keys import asset_key
    from aisec_pipeline.verdict import Status, Verdict

    root, now = two_models, datetime.now(timezone.utc)
    models, policy = load_inventory(root), load_policy(root)
    window = policy.tier_for(models[0].entry).evidence_max_age_hours
    instance = dg.DagsterInstance.get()

    def record(model: str, kind: str, measured: datetime, **figures) -> None:
        verdict = Verdict(kind, Status.PASSED, (), {EVALUATED_AT: measured.isoformat(), **figures})
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key(model, kind), metadata={VERDICT_KEY: dg.MetadataValue.json(json.loads(json.dumps(verdict.to_dict())))}))

    for model in ("alpha", "beta"):
        record(model, "artifact_scan", now - timedelta(hours=1))
        record(model, "model_card", now - timedelta(hours=1))
    assert lapsed_evidence(instance, models, policy, now) == set()
    record("alpha", "artifact_scan", now - timedelta(hours=window + 1))  # recorded again just now
    assert lapsed_evidence(instance, models, policy, now) == {"alpha"}
    record("beta", "model_card", now - timedelta(hours=1), review_valid_until=(now - timedelta(minutes=1)).isoformat())
    assert lapsed_evidence(instance, models, policy, now) == {"alpha", "beta"}


def test_a_decision_dated_in_the_future_or_without_a_zone_is_no_reason_to_keep_it():
    from datetime import datetime, timedelta, timezone

    from aisec_pipeline.orchestration.automation import decision_age_hours

    now = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    assert decision_age_hours((now - timedelta(hours=3)).isoformat(), now) == 3.0
    assert decision_age_hours((now + timedelta(minutes=4)).isoformat(), now) <= 0, "within the skew"
    for unusable in ((now + timedelta(days=365)).isoformat(), "2026-12-03T11:00:00", "soon", None):
        assert decision_age_hours(unusable, now) == float("inf"), unusable
