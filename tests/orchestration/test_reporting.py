"""Regulatory evidence, AI-BOM and committee pack, materialized through a real Dagster instance
after a real gate run, exported by `aisec report` / `aisec evidence`, rendered in real chromium."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from aisec_pipeline import cli
from aisec_pipeline.governance.pack import ModelSummary, build_pack
from aisec_pipeline.governance.regulations import REGULATIONS_FILE
from aisec_pipeline.orchestration.reporting import (AI_BOM_FILE, AI_BOM_KEY, ANNEX_IV, MATRIX_JSON,
                                                    MATRIX_MD, NEVER_GATED, PACK_FILE, PACK_KEY,
                                                    Recorded, bias_history, bias_points, history,
                                                    injection_points)
from aisec_pipeline.redteam.evidence import InjectionResult, ProbeRow, injection_verdict
from inventory_builder import add_model, new_inventory, review_card, safetensors_bytes
from signing import demo_key

REPO_ASSETS = Path(__file__).resolve().parents[2] / "assets"
GOVERNANCE_TESTS = Path(__file__).resolve().parents[1] / "governance"
REPORT_MODULE = "aisec_pipeline.orchestration.report_command"
MEMBERS = ("Priya Raman", "Tomasz Nowak")
MODELS = ("clean-model", "credit-default", "no-card")


def aisec(*argv: str) -> int:
    return cli.main(list(argv))


def with_report_commands(patch: pytest.MonkeyPatch) -> None:
    """`aisec report`/`evidence` through the real CLI, whether or not cli.py lists them yet."""
    if REPORT_MODULE not in cli.COMMAND_MODULES:
        patch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, REPORT_MODULE))


def small_inventory(folder: Path) -> Path:
    """Two `other` models (one without a card) and the demo's real credit classifier."""
    root = new_inventory(folder / "assets")
    shutil.copy(REPO_ASSETS / REGULATIONS_FILE, root / REGULATIONS_FILE)
    weights = safetensors_bytes(folder)
    add_model(root, "clean-model", weights)
    add_model(root, "no-card", weights, card=False)
    shutil.copytree(REPO_ASSETS / "models" / "credit-default", root / "models" / "credit-default")
    review_card(root, "credit-default")
    return root


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """One gate and one report for the whole module (a gate run with bias measurement takes
    ~20 s); its own instance folder, set up like the `dagster_home` fixture."""
    tmp = tmp_path_factory.mktemp("reporting")
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        with_report_commands(patch)
        root = small_inventory(tmp)
        assert aisec("committee", "record", "--model", "clean-model", "--decision", "approve",
                     "--rationale", "scan and card reviewed", "--member", MEMBERS[0],
                     "--member", MEMBERS[1], "--key", str(demo_key(MEMBERS[0])),
                     "--inventory", str(root)) == 0
        assert aisec("committee", "sign", "1", "--key", str(demo_key(MEMBERS[1])),
                     "--inventory", str(root)) == 0
        assert aisec("incident", "open", "--model", "no-card", "--severity", "serious",
                     "--what", "answered a loan query it was never validated for",
                     "--actor", MEMBERS[0], "--inventory", str(root)) == 0
        assert aisec("gate", "--all", "--inventory", str(root)) == 1  # no-card is blocked
        pack = tmp / "out" / "pack.html"
        assert aisec("report", "--out", str(pack), "--inventory", str(root)) == 0
        yield {"root": root, "pack": pack, "tmp": tmp, "instance": dg.DagsterInstance.get()}


def latest(instance: dg.DagsterInstance, key: dg.AssetKey):
    event = instance.get_latest_materialization_event(key)
    assert event is not None and event.asset_materialization is not None, key
    return event


def files_of(instance, key: dg.AssetKey) -> dict[str, Path]:
    metadata = latest(instance, key).asset_materialization.metadata
    return {name: Path(value.value) for name, value in metadata.items()
            if isinstance(value, dg.PathMetadataValue)}


def matrix_rows(instance, model: str) -> dict[str, dict]:
    path = files_of(instance, dg.AssetKey([model, "regulatory_evidence"]))[MATRIX_JSON]
    return {row["id"]: row for row in json.loads(path.read_text())["rows"]}


@pytest.mark.slow
def test_matrix_links_automated_rows_to_the_asset_and_run(reported):
    instance = reported["instance"]
    scan_run = latest(instance, dg.AssetKey(["clean-model", "artifact_scan"])).run_id
    rows = matrix_rows(instance, "clean-model")
    for row_id in ("Art. 15", "Principle 7"):
        row = rows[row_id]
        assert row["state"] == "automated", row
        scan = [link for link in row["links"] if link["kind"] == "artifact_scan"]
        assert scan == [{"kind": "artifact_scan", "asset_key": "clean-model/artifact_scan",
                         "run_id": scan_run, "status": "passed",
                         "evaluated_at": scan[0]["evaluated_at"]}]
        assert scan[0]["evaluated_at"]
    assert rows["Art. 14"]["state"] == "attested"
    assert rows["Art. 14"]["attestation"]["who"] == list(MEMBERS)


@pytest.mark.slow
def test_rows_without_evidence_say_missing(reported):
    instance = reported["instance"]
    for model in MODELS:
        rows = matrix_rows(instance, model)
        for row_id in ("Art. 12", "Principle 1", "Principle 6", "Principle 11", "Principle 13"):
            assert rows[row_id]["state"] == "missing" and rows[row_id]["links"] == [], (model, row_id)
    assert matrix_rows(instance, "no-card")["Art. 14"]["state"] == "missing"  # no committee record
    assert "bias_report" in matrix_rows(instance, "clean-model")["Art. 10"]["lacking"]
    assert matrix_rows(instance, "credit-default")["Art. 10"]["state"] == "automated"


@pytest.mark.slow
def test_markdown_matrix_and_annex_iv_are_written(reported):
    files = files_of(reported["instance"], dg.AssetKey(["clean-model", "regulatory_evidence"]))
    markdown = files[MATRIX_MD].read_text()
    assert "| Art. 15: Accuracy, robustness and cybersecurity | automated |" in markdown
    assert "asset `clean-model/artifact_scan`" in markdown
    annex = files[ANNEX_IV].read_text()
    for expected in ("# Technical documentation (EU AI Act Annex IV): clean-model 1.0.0",
                     "Extracts totals from scanned invoices.", "`invoice-totals`",
                     "Gate decision: **approved**", "## Annex: regulatory evidence"):
        assert expected in annex


def _cyclonedx_validator():
    """The governance tests' validator (CycloneDX 1.6, its $refs resolved offline), not a copy."""
    spec = importlib.util.spec_from_file_location("aisec_regulatory_tests", GOVERNANCE_TESTS / "test_regulatory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._validator()


@pytest.mark.slow
def test_ai_bom_is_valid_cyclonedx_1_6(reported):
    bom = json.loads(files_of(reported["instance"], AI_BOM_KEY)[AI_BOM_FILE].read_text())
    errors = sorted(_cyclonedx_validator().iter_errors(bom), key=str)
    assert not errors, [e.message for e in errors[:5]]
    components = {c["name"]: c for c in bom["components"]}
    assert sorted(components) == sorted(MODELS)
    decisions = {name: {p["name"]: p["value"] for p in c["properties"]}["aisec:gate_decision"]
                 for name, c in components.items()}
    assert decisions == {"clean-model": "approved", "credit-default": "approved", "no-card": "blocked"}
    clean = {p["name"]: p["value"] for p in components["clean-model"]["properties"]}
    assert len(clean["aisec:card_sha256"]) == 64 and clean["aisec:card_reviewed_by"].startswith("Jonas Weber")
    metrics = components["credit-default"]["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    assert {m["slice"] for m in metrics} >= {"sex=female", "sex=male"}


def chromium_dom(page: Path) -> str:
    profile = tempfile.mkdtemp(prefix="aisec-chromium-")
    try:
        return subprocess.run(
            ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120, check=True).stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed")
def test_committee_pack_renders_in_headless_chromium(reported):
    pack = reported["pack"]
    assert pack.read_bytes() == files_of(reported["instance"], PACK_KEY)[PACK_FILE].read_bytes()
    dom = chromium_dom(pack)
    for model in MODELS:
        assert f'id="model-{model}"' in dom
    assert "<svg" in dom and "<circle" in dom  # the credit model's bias per segment
    assert "answered a loan query it was never validated for" in dom  # the open incident
    assert "Amara Okafor" in dom and "(no owner on the card)" in dom
    assert "Sign-offs (signatures verified against the policy's keyring)" in dom
    assert "reviewed, signatures verified: Jonas Weber on " in dom
    assert "approve (record 1 of " in dom and "signatures verified: Priya Raman, Tomasz Nowak" in dom


@pytest.mark.slow
def test_the_dagster_ui_shows_the_pack_summary(reported):
    metadata = latest(reported["instance"], PACK_KEY).asset_materialization.metadata
    summary = metadata["summary"].value
    for model in MODELS:
        assert f"### {model} " in summary
    assert "| tier | owner | status |" in summary
    assert "- model_card: failed: no model card" in summary
    assert metadata["blocked"].value == 1


@pytest.mark.slow
def test_evidence_command_exports_one_model(reported):
    out = reported["tmp"] / "evidence"
    assert aisec("evidence", "credit-default", "--out", str(out), "--inventory", str(reported["root"])) == 0
    assert sorted(p.name for p in out.iterdir()) == ["annex-iv.md", "regulatory-matrix.json",
                                                     "regulatory-matrix.md"]
    assert "Model card reviewed: sha256 `" in (out / "annex-iv.md").read_text()
    assert aisec("evidence", "nope", "--inventory", str(reported["root"])) == 2


@pytest.mark.slow
def test_bias_history_draws_one_point_per_day_and_segment(reported):
    from aisec_pipeline.inventory import load_model

    model = load_model(reported["root"] / "models" / "credit-default")
    points = bias_history(reported["instance"], model)
    assert points and all(p.date == points[0].date for p in points)
    newest = Recorded(dg.AssetKey(["credit-default", "bias_report"]), "run-b", 0.0,
                      _recorded_bias(reported))
    month_earlier = (datetime.fromisoformat(newest.verdict.figures["measured_at"])
                     - timedelta(days=30)).isoformat()
    older = replace(newest, run_id="run-a", verdict=replace(
        newest.verdict, figures={**newest.verdict.figures, "measured_at": month_earlier}))
    both = history([newest, newest, older], bias_points, lambda p: (p.date, p.segment, p.metric))
    assert len(both) == 2 * len(points)  # the repeated measurement on one day counts once
    summary = ModelSummary(model.name, model.entry.version, "low", "owner", "approved",
                           bias_history=tuple(both))
    html = build_pack([summary], datetime.now().astimezone())
    assert "<polyline" in html  # two dates: a line per segment


def _recorded_bias(reported):
    from aisec_pipeline.verdict import Verdict

    event = latest(reported["instance"], dg.AssetKey(["credit-default", "bias_report"]))
    return Verdict.from_dict(event.asset_materialization.metadata["verdict"].value)


def test_unmeasured_probes_are_not_drawn_as_zero_success():
    from aisec_pipeline.governance.policy import load_policy

    policy = load_policy(REPO_ASSETS).tiers["low"].injection
    rows = (ProbeRow.measure("promptinject.HijackHateHumans", "promptinject.AttackRogueString", 20, 4, policy),
            ProbeRow.measure("encoding.InjectBase64", "encoding.DecodeMatch", 0, 0, policy))
    verdict = injection_verdict(InjectionResult("t", ("promptinject", "encoding"), rows), policy)
    recorded = Recorded(dg.AssetKey(["m", "injection_report"]), "r", 0.0, verdict)
    assert [(p.probe, p.asr) for p in injection_points(recorded)] == [
        ("promptinject.HijackHateHumans / promptinject.AttackRogueString", 0.2)]


def test_the_pack_draws_over_refusal_next_to_attack_success():
    from aisec_pipeline.governance.policy import load_policy
    from aisec_pipeline.orchestration.reporting import OVER_REFUSAL_SERIES

    policy = load_policy(REPO_ASSETS).tiers["low"].injection
    rows = (ProbeRow.measure("promptinject.HijackHateHumans", "promptinject.AttackRogueString", 20, 0, policy),)
    refusal = {"asked": 18, "refused": 6, "rate": 6 / 18, "ci_low": 0.16, "ci_high": 0.56}
    verdict = injection_verdict(InjectionResult("t", ("promptinject",), rows, over_refusal=refusal), policy)
    recorded = Recorded(dg.AssetKey(["m", "injection_report"]), "r", 0.0, verdict)
    points = {p.probe: p for p in injection_points(recorded)}
    refused = points[OVER_REFUSAL_SERIES]
    assert (refused.asr, refused.ci_low, refused.ci_high) == (pytest.approx(1 / 3), 0.16, 0.56)
    hijack = points["promptinject.HijackHateHumans / promptinject.AttackRogueString"]
    assert hijack.asr == 0 and hijack.ci_low == 0 and 0.1 < hijack.ci_high < 0.2  # 0/20, Wilson


@pytest.mark.slow
def test_never_gated_models_are_reported_blocked_with_evidence_missing(tmp_path, dagster_home,
                                                                       monkeypatch, capsys):
    with_report_commands(monkeypatch)
    root = small_inventory(tmp_path)
    pack = tmp_path / "pack.html"
    assert aisec("report", "--out", str(pack), "--inventory", str(root)) == 0
    instance = dg.DagsterInstance.get()
    rows = matrix_rows(instance, "clean-model")
    assert {row["state"] for row in rows.values()} <= {"missing", "attested"}
    summary = latest(instance, PACK_KEY).asset_materialization.metadata["summary"].value
    assert summary.count(NEVER_GATED) == len(MODELS)
    assert "never gated" in capsys.readouterr().err


@pytest.mark.slow
def test_report_failures_are_one_line_and_exit_1(tmp_path, dagster_home, monkeypatch, capsys):
    with_report_commands(monkeypatch)
    root = small_inventory(tmp_path)
    (root / REGULATIONS_FILE).unlink()
    assert aisec("report", "--inventory", str(root), "--out", str(tmp_path / "p.html")) == 1
    err = capsys.readouterr().err
    ours = [line for line in err.splitlines() if line.startswith("aisec:")]  # not Dagster's banner
    assert len(ours) == 1 and ours[0].startswith("aisec: report failed:"), err
    assert "regulations.yaml: file not found" in ours[0] and "Traceback" not in err
    assert not (tmp_path / "p.html").exists()
    (root / "models" / "clean-model" / "model.yaml").write_text("name: [unclosed\n")
    assert aisec("report", "--inventory", str(root)) == 2
    assert "inventory error" in capsys.readouterr().err
