"""The Dagster UI explains a block: what the metadata carries (plain cells, numbers Dagster plots,
summaries that count what they leave out, attachments by name) and, in a real headless Chromium
at 1280 px against a running webserver and daemon, what a person sees: a blocked decision's
reason uncut, coloured red in the lineage, its run a success; the bias chart in place; a card
edit shown stale before anyone gates; the sensor's gates of the edit, a new model and a revert."""

from __future__ import annotations

import io
import os
import re
import shutil
import time
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
from aisec_pipeline.orchestration.presentation import WRAP, fitted_tables, plain, shown, summary
from aisec_pipeline.redteam.evidence import InjectionResult, ProbeRow, injection_verdict
from aisec_pipeline.verdict import Status, Verdict
from browser import CHROMIUM, chromium
from inventory_builder import add_model, card_text, new_inventory, review_card, safetensors_bytes
from webserver import gated_on_its_own, gql, running_webserver

REPO = Path(__file__).resolve().parents[2]
COMPAS = REPO / "assets" / "models" / "compas-recidivism"


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
    assert "model_card: failed: no owner" in text and shown(committee) in text, "no reason cut off"
    assert "9" * 13 not in text, "a digest is shortened in the UI: a 64-digit word cannot wrap"
    assert text.endswith("all 32 reasons in the reasons table")
    rows = [r.data for r in metadata["reasons"].records]
    assert rows[-1] == {"#": 32, "reason": shown(committee)}
    assert "digest 999999999999…, none is standing" in rows[-1]["reason"]
    assert decision_metadata(blocked)["decision"].value["reasons"][-1] == committee, "the JSON record keeps it whole"

    approved = Decision("m", "1.0.0", "low", True, (), {"artifact_scan": "passed"},
                        conditions=("re-evaluate quarterly",))
    assert decision_metadata(approved)["summary"].value == (
        "APPROVED: every required check passed (artifact_scan) | condition: re-evaluate quarterly")


def test_cells_are_plain_values_never_python_reprs():
    assert plain({"sex": "Female", "age_band": "<25"}) == "sex=Female x age_band='<25'"
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
    assert result.description.startswith("FAILED: FPR for sex=Female x age_band='<25'")
    assert f"and {len(verdict.reasons) - 3} more" in result.description
    assert result.description.endswith(f"(data:image/png;base64,{verdict.figures['chart_png_base64']})")
    table = result.metadata["reasons"]
    assert [r.data["reason"] for r in table.records] == [shown(r) for r in verdict.reasons]
    assert any("age_band='>45'" in r.data["reason"] for r in table.records)

    metadata = verdict_metadata(verdict)
    assert list(metadata)[:2] == ["status", "summary"]
    from aisec_pipeline.orchestration.presentation import evidence_presentation

    presented = evidence_presentation(verdict)
    cells = [str(value) for record in presented["table: per segment"].records for value in record.data.values()]
    assert "sex=Female x age_band='<25'" in cells and "sex=Male x age_band='>45'" in cells
    assert "| sex=Female x age_band='<25' |" in presented["all columns: violations"].value
    assert not any("{" in cell for cell in cells), "segments must be flattened, not dict reprs"
    assert not any("=>" in cell for cell in cells), "Dagster's monospace font draws => as an arrow"
    assert presented["chart"].value == "drawn in the bias_within_thresholds check's latest execution (Checks tab)"


def test_the_ui_text_quotes_operator_values_and_shortens_digests_only():
    digest = "0123456789abcdef" * 4
    assert shown(f"FPR for age_band=>45 and age_band=<25, n=16 < 50; sha256 {digest}.") == (
        "FPR for age_band='>45' and age_band='<25', n=16 < 50; sha256 0123456789ab….")
    assert shown("threshold 0.1 => fails | a=b") == "threshold 0.1 => fails | a=b"
    assert shown("x" * 64 + " " + "0123456789abcdef" * 5) == "x" * 64 + " " + "0123456789abcdef" * 5


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
    assert numbers["worst probe"].replace(WRAP, "").startswith("promptinject.HijackHateHumans / promptinject.AttackRogueString")


def test_attachments_by_name_small_markdown_embedded(tmp_path):
    folder = tmp_path / "storage" / "aisec" / "m" / "model_card" / "run1"
    folder.mkdir(parents=True)
    (folder / "card.md").write_text("# The published card\n")
    (folder / "counts.parquet").write_bytes(b"PAR1" + bytes(100))
    verdict = Verdict("model_card", Status.PASSED, (), {}, {
        "published card": str(folder / "card.md"), "baseline counts": str(folder / "counts.parquet"),
        "gone": str(tmp_path / "nowhere.jsonl"), "inline": "iVBORw0KGgo" * 1000})
    metadata = verdict_metadata(verdict)
    card = metadata["attachment: published card"].value.replace(WRAP, "")
    assert "# The published card" in card and "aisec/m/model_card/run1/card.md" in card
    counts = metadata["attachment: baseline counts"].value.replace(WRAP, "")
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
    wide = Image.open(io.BytesIO(chart_png(compas_report)))  # all five metrics
    assert wide.width <= 660, "a wider chart widens the Checks tab's pane past 1280 px"


def test_long_words_may_wrap_in_the_ui_and_read_the_same():
    path = "/srv/assets/models/compas-recidivism/artifacts/model.skops"
    assert shown(path).replace(WRAP, "") == path and shown(path).count(WRAP) == path.count("/") + 1
    assert shown("insufficient_data") == f"insufficient_{WRAP}data"
    assert WRAP not in shown("FPR for sex=Female x age_band=<25 is 0.69 [0.57, 0.79] vs 0.32 overall")


def test_a_wide_table_keeps_a_few_columns_in_place_and_shows_every_column(compas_report):
    from aisec_pipeline.fairness import bias_verdict

    rows = list(bias_verdict(compas_report).figures["table"])
    fitted = fitted_tables("per segment", rows, ("segment", "status"))
    assert [c.name for c in fitted["table: per segment"].schema.columns] == ["segment", "status"]
    every = fitted["all columns: per segment"].value
    assert len(every) >= 1000, "Dagster folds Markdown over 1,000 characters behind [Show Markdown]"
    assert all(column in every.splitlines()[0] for column in rows[0])
    small = fitted_tables("files", [{"path": "a" * 40, "format": "safetensors", "sha256": "b" * 30}])
    assert set(small) == {"table: files", "table: files, every column"}, "short Markdown would render in place"
    assert small["table: files, every column"].records[0].data["columns"].replace(WRAP, "") == (
        f"format safetensors; sha256 {'b' * 30}")
    narrow = [{"reviewer": "Jonas Weber", "role": "owner"}]
    assert list(fitted_tables("reviewed_by", narrow)) == ["table: reviewed_by"]




# --- a real browser against a running webserver and daemon ----------------------------------------

SENSOR = {"repositoryLocationName": "aisec", "repositoryName": "__repository__", "sensorName": "new_model_versions"}
SENSOR_STATE = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor {
  sensorState { id selectorId status } } } }"""
STOP = """mutation($o: String, $s: String) { stopSensor(jobOriginId: $o, jobSelectorId: $s) {
  ... on StopSensorMutationResult { instigationState { status } } } }"""
START = "mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { ... on Sensor { sensorState { status } } } }"
OBSERVE = """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } } }"""
RUNS = """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) { ... on Runs { results {
  runId status jobName tags { key value } assetSelection { path } } } } }"""
OBSERVABLE = "{ assetNodes { assetKey { path } isObservable } }"
STALE = "query($k: [AssetKeyInput!]) { assetNodes(assetKeys: $k) { staleStatus } }"
LATEST_RUN = """query($path: [String!]!) { assetOrError(assetKey: {path: $path}) { ... on Asset {
  assetMaterializations(limit: 1) { runId } } } }"""

# Where a rendered element ends against the right edge of the panel that clips it (0: it fits).
OVERFLOW = """(() => {
  const row = [...document.querySelectorAll('tr')].find(tr => tr.children[0].innerText.trim() === '%s');
  const cell = row.children[row.children.length - 1].getBoundingClientRect();
  let clip = row.parentElement;
  while (clip && getComputedStyle(clip).overflowX === 'visible') clip = clip.parentElement;
  const edge = clip ? Math.min(clip.getBoundingClientRect().right, window.innerWidth) : window.innerWidth;
  return Math.round(cell.right - edge);
})()"""
# How far the check's latest execution (its description and chart) runs past the panel that clips it.
PANE_OVERFLOW = """(() => {
  const shown = [...document.querySelectorAll('p, img')].filter(e => (e.innerText || '').startsWith('%s')
    || (e.src || '').startsWith('data:image/png'));
  return Math.max(...shown.map(e => {
    let clip = e.parentElement;
    while (clip && getComputedStyle(clip).overflowX === 'visible') clip = clip.parentElement;
    const edge = clip ? Math.min(clip.getBoundingClientRect().right, window.innerWidth) : window.innerWidth;
    return Math.round(e.getBoundingClientRect().right - edge);
  }));
})()"""
# The lineage graph's node boxes: label -> background colour.
NODE_COLOURS = """(() => {
  const found = {};
  for (const el of document.querySelectorAll('div')) {
    const label = (el.innerText || '').trim();
    const bg = el.parentElement && getComputedStyle(el.parentElement).backgroundColor;
    if (el.children.length <= 2 && /^[a-z_.…]+$/.test(label) && bg && bg !== 'rgba(0, 0, 0, 0)') found[label] = bg;
  }
  return found;
})()"""
# The inline images of the page that are drawn (decoded and laid out), as (src prefix, width).
IMAGES = """[...document.images].filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().height > 0)
  .map(i => [i.src.slice(0, 22), i.naturalWidth])"""


def wait_for(what: str, probe, timeout: float = 300, every: float = 2):
    """`probe()` once it is truthy (the deployment works at its own pace: poll, never sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class Deployment:
    """A running webserver and daemon, driven through the GraphQL API a person's clicks call."""

    def __init__(self, base: str, root: Path):
        self.base, self.url, self.root = base, f"{base}/graphql", root

    def page(self, *path: str) -> str:
        return self.base + "/" + "/".join(path)

    def sensor(self, running: bool) -> None:
        if running:
            gql(self.url, START, {"s": SENSOR})
            return
        state = gql(self.url, SENSOR_STATE, {"s": SENSOR})["sensorOrError"]["sensorState"]
        stopped = gql(self.url, STOP, {"o": state["id"].split("::")[0], "s": state["selectorId"]})
        assert stopped["stopSensor"]["instigationState"]["status"] == "STOPPED", stopped

    def observe(self, model: str) -> str:
        """What the UI's "Observe sources" does: a run observing the model's input files."""
        nodes = gql(self.url, OBSERVABLE)["assetNodes"]
        inputs = [{"path": n["assetKey"]["path"]} for n in nodes
                  if n["isObservable"] and n["assetKey"]["path"][0] == model]
        params = {"selector": {"repositoryLocationName": "aisec", "repositoryName": "__repository__",
                               "pipelineName": "__ASSET_JOB", "assetSelection": inputs},
                  "mode": "default", "executionMetadata": {"tags": []}}
        launched = gql(self.url, OBSERVE, {"p": params})["launchPipelineExecution"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def runs(self, **tags: str) -> list[dict]:
        """Runs with these tags, newest first."""
        found = gql(self.url, RUNS, {"tags": [{"key": k, "value": v} for k, v in tags.items()]})
        return found["runsOrError"]["results"]

    def finished(self, count: int, **tags: str) -> list[dict]:
        """The runs with these tags once `count` of them have ended (newest first)."""
        def ended():
            found = self.runs(**tags)
            return found if sum(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in found) >= count else None
        return wait_for(f"{count} finished run(s) tagged {tags}", ended)

    def stale(self, model: str, name: str) -> str:
        return gql(self.url, STALE, {"k": [{"path": [model, name]}]})["assetNodes"][0]["staleStatus"]

    def run_of(self, model: str, name: str) -> str:
        return gql(self.url, LATEST_RUN, {"path": [model, name]})["assetOrError"]["assetMaterializations"][0]["runId"]


@pytest.fixture
def deployment(tmp_path, dagster_home, monkeypatch):
    """Two gated models (clean-model approved; compas-recidivism blocked by its bias report) and
    their deployment on 127.0.0.1: webserver and daemon, the sensor switched off for now."""
    root = new_inventory(tmp_path / "assets")
    add_model(root, "clean-model", safetensors_bytes(tmp_path))
    shutil.copytree(COMPAS, root / "models" / "compas-recidivism")
    review_card(root, "compas-recidivism")
    monkeypatch.setenv("AISEC_INVENTORY", str(root))
    assert main(["gate", "--all", "--inventory", str(root)]) == 1
    env = {**os.environ, "AISEC_INVENTORY": str(root), "DAGSTER_HOME": str(dagster_home)}
    with running_webserver(env, daemon=True) as base:
        served = Deployment(base, root)
        gql(served.url, "mutation { setNuxSeen }")  # "Skip" on the first-visit welcome dialog
        served.sensor(running=False)  # so the edit below is seen stale before anyone gates it
        yield served


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed: scripts/system_deps.sh installs it")
def test_what_a_person_sees_in_the_ui(deployment, tmp_path):
    ui = deployment
    with chromium(tmp_path / "profile", width=1280, height=1000) as page:
        _a_block_explains_itself(ui, page)
        _the_sensors_gates_show(ui, page)


def _a_block_explains_itself(ui: Deployment, page) -> None:
    """Blocked by its bias report: the reason in full at 1280 px, red in the lineage, a run that
    succeeded, the chart in place, no `=>` drawn as an arrow."""
    decision = ui.page("assets/compas-recidivism/deployment_decision")
    text = page.open(decision, "BLOCKED by bias_report", "gate_state")
    assert "bias_report: failed: FPR for sex=Female x age_band='<25' is 0.69" in text
    assert page.evaluate(OVERFLOW % "summary") <= 0, "the summary runs off the right of the page"
    assert "=>" not in text and "age_band='>45'" in text

    page.open(decision + "?view=checks", re.compile(r"deployment_approved\s+Failed"), "signoffs_verified")
    lineage = decision + "?view=lineage&lineageScope=upstream&lineageDepth=1"
    page.open(lineage, "bias_report")
    colours = wait_for("the lineage graph's colours", lambda: _nodes(page), timeout=90)
    assert colours["decision"] == colours["bias_report"] != colours["artifact_scan"], colours
    run = page.open(ui.page("runs", ui.run_of("compas-recidivism", "deployment_decision")), "BLOCKED", "Success")
    assert "Success" in run and "Failure" not in run and "Traceback" not in run

    bias_check = ui.page("assets/compas-recidivism/bias_report?view=checks&checkDetail=bias_within_thresholds")
    text = page.open(bias_check, "Latest execution", "age_band='>45'")
    charts = wait_for("the bias chart drawn", lambda: [i for i in page.evaluate(IMAGES)
                                                       if i[0] == "data:image/png;base64,"])
    assert charts[0][1] > 300 and "[Show Markdown]" not in text
    assert "=>" not in text and "age_band='>45'" in text
    overflows = {"bias_report check": page.evaluate(PANE_OVERFLOW % "FAILED: FPR"), **_evidence_pages(ui, page)}
    assert all(px <= 0 for px in overflows.values()), f"px run off the right of the page: {overflows}"


EVIDENCE_PAGES = {"compas-recidivism": ("artifact_scan", "evaluation_data", "bias_report", "model_card"),
                  "clean-model": ("artifact_scan", "model_card")}


def _evidence_pages(ui: Deployment, page) -> dict[str, int]:
    """How far each evidence asset page's summary runs off the page at 1280 px (0 or less: uncut;
    a table, path or record beside it may widen the metadata's value column)."""
    overflows = {}
    for model, kinds in EVIDENCE_PAGES.items():
        for kind in kinds:
            page.open(ui.page("assets", model, kind), "summary", "dagster/component_origin")
            overflows[f"{model}/{kind}"] = page.evaluate(OVERFLOW % "summary")
    return overflows


def _nodes(page) -> dict[str, str] | None:
    found = page.evaluate(NODE_COLOURS)
    named = {"decision": next((v for k, v in found.items() if k.startswith("deployme")), None),
             "bias_report": found.get("bias_report"), "artifact_scan": found.get("artifact_scan")}
    loaded = all(named.values()) and named["bias_report"] != named["artifact_scan"]  # failed, passed
    return named if loaded else None


def _the_sensors_gates_show(ui: Deployment, page) -> None:
    """A version bump with its card edited is stale before anyone gates, then the sensor gates it
    (blocked: the new card is not reviewed) and a model added meanwhile on its own; reverting both
    files is gated again and approved."""
    folder = ui.root / "models" / "clean-model"
    entry, card = (folder / "model.yaml").read_text(), (folder / "card.md").read_text()
    (folder / "model.yaml").write_text(entry.replace("version: 1.0.0", "version: 1.1.0"))
    (folder / "card.md").write_text(card_text("clean-model", "1.1.0"))
    observed = ui.observe("clean-model")
    wait_for("the observation", lambda: ui.stale("clean-model", "model_card") == "STALE")
    model_card = ui.page("assets/clean-model/model_card")
    assert "Unsynced" in page.open(model_card, "Unsynced"), observed
    assert ui.runs(**{"aisec/model": "clean-model", "aisec/trigger": "new-version"}) == [], "nobody gated yet"

    add_model(ui.root, "late-model", safetensors_bytes(ui.root.parent), reviewed=False)
    ui.sensor(running=True)
    [bump] = ui.finished(1, **{"aisec/model": "clean-model", "aisec/trigger": "new-version"})
    [late] = ui.finished(1, **{"aisec/model": "late-model", "aisec/trigger": "new-version"})
    assert (bump["status"], late["status"]) == ("SUCCESS", "SUCCESS"), (bump, late)
    assert gated_on_its_own(late, "late-model"), late
    wait_for("model_card measured again", lambda: ui.stale("clean-model", "model_card") == "FRESH")
    assert "Unsynced" not in page.open(model_card, "Latest check results")
    decision = ui.page("assets/clean-model/deployment_decision")
    text = page.open(decision, "BLOCKED by model_card", "gate_state")
    assert "card changed since its review" in text and "1.1.0" in text
    assert page.evaluate(OVERFLOW % "summary") <= 0, "the summary runs off the right of the page"
    late_decision = page.open(ui.page("assets/late-model/deployment_decision?view=events"), "BLOCKED by model_card")
    assert "card never reviewed" in late_decision

    (folder / "model.yaml").write_text(entry)
    (folder / "card.md").write_text(card)
    revert = ui.finished(2, **{"aisec/model": "clean-model", "aisec/trigger": "new-version"})[0]
    assert revert["runId"] != bump["runId"] and revert["status"] == "SUCCESS"
    text = page.open(decision, "APPROVED: every required check passed")
    assert "1.0.0" in text and "1.1.0" not in text
    assert page.evaluate(OVERFLOW % "summary") <= 0, "the approved summary runs off the page"
    wait_for("model_card fresh after the revert", lambda: ui.stale("clean-model", "model_card") == "FRESH")
    assert "Unsynced" not in page.open(model_card, "Latest check results")
