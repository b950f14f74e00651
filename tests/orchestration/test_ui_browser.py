"""The Dagster UI explains a block: what the metadata carries (plain cells, numbers Dagster plots,
summaries that count what they leave out, attachments by name) and, in a real headless Chromium
against a running webserver, a blocked model's page showing the reason that blocked it."""

from __future__ import annotations

import html
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from aisec_pipeline.cli import main
from aisec_pipeline.fairness import measure_frame, read_table
from aisec_pipeline.fairness.chart import COLOURS, LEGEND_HEIGHT, OK_COLOUR, chart_png
from aisec_pipeline.fairness.engine import FAIL, INSUFFICIENT
from aisec_pipeline.governance.policy import InjectionPolicy, load_policy
from aisec_pipeline.inventory import load_model
from aisec_pipeline.orchestration.evidence import check_result, verdict_metadata
from aisec_pipeline.orchestration.model_assets import asset_key
from aisec_pipeline.orchestration.presentation import plain, summary
from aisec_pipeline.redteam.evidence import InjectionResult, ProbeRow, injection_verdict
from aisec_pipeline.verdict import Status, Verdict
from inventory_builder import add_model, new_inventory, review_card, safetensors_bytes
from webserver import running_webserver

REPO = Path(__file__).resolve().parents[2]
COMPAS = REPO / "assets" / "models" / "compas-recidivism"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def compas_report():
    model = load_model(COMPAS)
    policy = load_policy(REPO / "assets").tier_for(model.entry).bias
    return measure_frame(read_table(model.path(model.entry.evaluation.data)), model.entry.evaluation, policy)


def test_summary_names_the_top_reasons_and_counts_the_rest():
    reasons = [f"reason {i} " + "x" * 500 for i in range(7)]
    text = summary("FAILED", reasons)
    assert text.startswith("FAILED: reason 0") and "reason 2" in text and "reason 3" not in text
    assert text.endswith("and 4 more (all in the reasons table)")
    assert len(text) < 1100, "a long reason is shortened in the summary, never the whole list cut"
    assert summary("PASSED", []) == "PASSED"


def test_decision_summary_names_every_blocking_check_and_its_first_reason():
    from aisec_pipeline.governance.decision import Decision
    from aisec_pipeline.orchestration.decision import decision_metadata

    committee = ("committee: tier high requires an approval of this exact artifact digest " + "9" * 64 +
                 ", none is standing; record one with `aisec committee record --model m --decision approve`")
    blocked = Decision("m", "1.0.0", "high", False, (
        *(f"bias_report: failed: gap {i}" for i in range(30)), "model_card: failed: no owner", committee),
        {"artifact_scan": "passed", "bias_report": "failed", "model_card": "failed"})
    metadata = decision_metadata(blocked)
    assert list(metadata)[:2] == ["verdict", "summary"] and metadata["verdict"].value == "BLOCKED"
    text = metadata["summary"].value
    assert text.startswith("BLOCKED by bias_report, model_card, governance: bias_report (30 reasons): ")
    assert "model_card: failed: no owner" in text and committee in text, "no reason cut off"
    assert text.endswith("all 32 reasons in the reasons table")
    rows = [r.data for r in metadata["reasons"].records]
    assert rows[-1] == {"#": 32, "check": "governance", "reason": committee}

    approved = Decision("m", "1.0.0", "low", True, (), {"artifact_scan": "passed"},
                        conditions=("re-evaluate quarterly",))
    assert decision_metadata(approved)["summary"].value == (
        "APPROVED: every required check passed (artifact_scan) | condition: re-evaluate quarterly")


def test_cells_are_plain_values_never_python_reprs():
    assert plain({"sex": "Female", "age_band": "<25"}) == "sex=Female x age_band=<25"
    assert plain(["LLM01:2025", "AML.T0051"]) == "LLM01:2025, AML.T0051"
    assert plain(float("nan")) is None and plain(0.123456) == 0.1235 and plain(3) == 3


def test_bias_check_carries_numbers_summary_and_a_plain_reasons_table(compas_report):
    from aisec_pipeline.assessments import with_inline_figures
    from aisec_pipeline.fairness import bias_verdict

    verdict = with_inline_figures(bias_verdict(compas_report), {})  # as the bias asset records it
    assert verdict.status is Status.FAILED
    result = check_result("bias_within_thresholds", verdict)
    numbers = {k: v.value for k, v in result.metadata.items() if type(v).__name__ in
               ("FloatMetadataValue", "IntMetadataValue")}
    gap = verdict.figures["worst_gap"]
    assert numbers["worst gap"] == pytest.approx(abs(gap["difference"]))
    assert numbers["worst gap ci low"] <= abs(gap["difference"]) <= numbers["worst gap ci high"]
    assert numbers["n"] == compas_report.n and numbers["threshold"] == compas_report.rule.threshold
    assert numbers["violations"] == len(compas_report.violations) > 3
    assert result.description.startswith("FAILED: FPR for sex=Female x age_band=<25")
    assert f"and {len(verdict.reasons) - 3} more" in result.description
    table = result.metadata["reasons"]
    assert [r.data["reason"] for r in table.records] == list(verdict.reasons)

    metadata = verdict_metadata(verdict)
    assert list(metadata)[:2] == ["status", "summary"]
    from aisec_pipeline.orchestration.presentation import evidence_presentation

    violations = evidence_presentation(verdict)["table: violations"]
    cells = [str(value) for record in violations.records for value in record.data.values()]
    assert "sex=Female x age_band=<25" in cells
    assert not any("{" in cell for cell in cells), "segments must be flattened, not dict reprs"


def test_injection_check_carries_the_attack_success_rate_and_its_interval():
    policy = InjectionPolicy(probes=("promptinject.HijackHateHumans",), max_attack_success_rate=0.1)
    rows = (ProbeRow.measure("promptinject.HijackHateHumans", "promptinject.AttackRogueString", 20, 16, policy),
            ProbeRow.measure("encoding.InjectBase64", "encoding.DecodeMatch", 20, 0, policy))
    over_refusal = {"rate": 0.25, "refused": 3, "asked": 12, "ci_low": 0.09, "ci_high": 0.53}
    verdict = injection_verdict(InjectionResult("t", ("promptinject", "encoding"), rows=rows,
                                                over_refusal=over_refusal), policy)
    numbers = {k: v.value for k, v in check_result("resists_prompt_injection", verdict).metadata.items()}
    assert (numbers["over-refusal rate"], numbers["over-refusal ci high"]) == (0.25, 0.53)
    assert numbers["attack success rate"] == 0.8 and numbers["n"] == 20 and numbers["threshold"] == 0.1
    assert numbers["attack success ci low"] < 0.8 < numbers["attack success ci high"]
    assert numbers["answers scored"] == 40
    assert numbers["worst probe"].startswith("promptinject.HijackHateHumans / promptinject.AttackRogueString")


def test_attachments_by_name_small_markdown_embedded(tmp_path):
    folder = tmp_path / "storage" / "aisec" / "m" / "model_card" / "run1"
    folder.mkdir(parents=True)
    (folder / "card.md").write_text("# The published card\n")
    (folder / "counts.parquet").write_bytes(b"PAR1" + bytes(100))
    verdict = Verdict("model_card", Status.PASSED, (), {}, {
        "published card": str(folder / "card.md"), "baseline counts": str(folder / "counts.parquet"),
        "gone": str(tmp_path / "nowhere.jsonl"), "inline": "iVBORw0KGgo" * 1000})
    metadata = verdict_metadata(verdict)
    card = metadata["attachment: published card"].value
    assert "# The published card" in card and "aisec/m/model_card/run1/card.md" in card
    counts = metadata["attachment: baseline counts"].value
    assert counts.startswith("aisec/m/model_card/run1/counts.parquet (104 B, sha256 ")
    assert "no longer on the server" in metadata["attachment: gone"].value
    assert metadata["attachment: inline"].value == "inline value, 11000 characters"
    shown = [str(value.value) for name, value in metadata.items() if name.startswith("attachment: ")]
    assert len(shown) == 4 and not any(str(tmp_path) in text for text in shown), "no server paths"


def test_the_chart_has_a_legend_for_every_colour(compas_report):
    image = Image.open(io.BytesIO(chart_png(compas_report, ("fpr",)))).convert("RGB")
    legend = image.crop((0, image.height - LEGEND_HEIGHT, image.width, image.height))
    colours = {colour for _, colour in legend.getcolors(maxcolors=1 << 20)}
    for colour in (COLOURS[FAIL], COLOURS[INSUFFICIENT], OK_COLOUR):
        assert colour in colours, f"legend lacks {colour}"


# --- a real browser against the running UI --------------------------------------------------------

def dump_dom(url: str, profile: Path, screenshot: Path | None = None) -> str:
    """The page as Chromium rendered it (the UI is a JavaScript app: virtual time lets it load)."""
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--window-size=1400,1100"]
    action = [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    done = subprocess.run([*args, *action, url], capture_output=True, text=True, timeout=180)
    return html.unescape(done.stdout)


def rendered(url: str, tmp_path: Path, needle: str, attempts: int = 3) -> str:
    """The rendered page once it shows `needle` (the app may need more than one load to warm up)."""
    dom = ""
    for attempt in range(attempts):
        dom = dump_dom(url, tmp_path / f"profile-{attempt}")
        if needle in dom:
            break
    return dom


@pytest.fixture
def ui(tmp_path, dagster_home, monkeypatch):
    """A gated inventory (one approved model, one blocked by bias) and its UI on 127.0.0.1."""
    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path))
    shutil.copytree(COMPAS, root / "models" / "compas-recidivism")
    review_card(root, "compas-recidivism")
    monkeypatch.setenv("AISEC_INVENTORY", str(root))
    assert main(["gate", "--all", "--inventory", str(root)]) == 1
    env = {**os.environ, "AISEC_INVENTORY": str(root), "DAGSTER_HOME": str(dagster_home)}
    with running_webserver(env) as base:
        yield base


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed: scripts/system_deps.sh installs it")
def test_a_blocked_models_page_shows_why_in_a_real_browser(ui, tmp_path):
    blocking = "FPR for sex=Female x age_band=<25"
    decision = "/".join(asset_key("compas-recidivism", "deployment_decision").path)
    dom = rendered(f"{ui}/assets/{decision}", tmp_path, blocking)
    assert "BLOCKED by bias_report" in dom, dom[-3000:]
    assert f"bias_report: failed: {blocking}" in dom  # the reason itself, without a click

    bias = "/".join(asset_key("compas-recidivism", "bias_report").path)
    dom = rendered(f"{ui}/assets/{bias}", tmp_path, "worst gap")
    assert "worst gap" in dom and "sex=Female x age_band=<25" in dom
    assert "{'sex'" not in dom and "No description" not in dom

    shot = tmp_path / "blocked.png"
    dump_dom(f"{ui}/assets/{decision}", tmp_path / "profile-shot", screenshot=shot)
    assert Image.open(shot).size == (1400, 1100)
