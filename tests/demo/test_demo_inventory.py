"""The committed demo inventory: valid entries, reproducible artifacts, a truly malicious pickle."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import pickletools
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from aisec_pipeline.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "assets"
BUILD_SCRIPT = REPO / "scripts" / "build_demo.py"
MARKER = Path(tempfile.gettempdir()) / "aisec-demo-payload-ran"
EXPECTED = {"compas-recidivism": "classifier", "credit-default": "classifier", "smollm2-chat": "llm",
            "invoice-parser-legacy": "other", "churn-predictor": "other"}


def load_build_script():
    spec = importlib.util.spec_from_file_location("build_demo", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_build(out: Path) -> dict[str, str]:
    done = subprocess.run([sys.executable, str(BUILD_SCRIPT), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def test_committed_inventory_validates() -> None:
    models = {m.name: m for m in load_inventory(ASSETS)}
    assert {name: m.entry.kind.value for name, m in models.items()} == EXPECTED
    for model in models.values():
        assert model.path(model.entry.card).is_file()
        if model.entry.evaluation:
            assert model.path(model.entry.evaluation.data).is_file()
    compas = models["compas-recidivism"].entry
    assert compas.provenance.signature is not None
    assert compas.evaluation.intersections == (("sex", "age_band"),)


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory) -> tuple[dict[str, str], dict[str, str], Path]:
    """Two builds in two fresh processes; each also checks itself against the registry."""
    first, second = tmp_path_factory.mktemp("build1"), tmp_path_factory.mktemp("build2")
    return run_build(first), run_build(second), first


@pytest.mark.slow  # builds the demo artifacts twice in subprocesses
def test_every_artifact_builds_bit_for_bit(two_builds) -> None:
    first, second, _ = two_builds
    assert first == second
    registry = {f"{m.name}/{a.path}": a.sha256 for m in load_inventory(ASSETS) for a in m.entry.artifacts}
    assert {path: first[path] for path in registry} == registry


@pytest.mark.slow  # builds the demo artifacts twice in subprocesses
def test_committed_evaluation_data_is_what_the_build_writes(two_builds) -> None:
    first, _, _ = two_builds
    for name in ("compas-recidivism", "credit-default"):
        committed = ASSETS / "models" / name / "data" / "evaluation.csv"
        assert hashlib.sha256(committed.read_bytes()).hexdigest() == first[f"{name}/data/evaluation.csv"]


@pytest.mark.slow  # builds the demo artifacts twice in subprocesses
def test_skops_artifact_stays_loadable_after_normalising(two_builds) -> None:
    """Our own freshly built file (not a scanned artifact), loaded with skops' safe loader."""
    import skops.io

    _, _, out = two_builds
    path = out / "compas-recidivism" / "artifacts" / "model.skops"
    assert skops.io.get_untrusted_types(file=path) == []  # skops trusts its own sklearn types
    model = skops.io.load(path)
    evaluation = pd.DataFrame({"age": [22, 50], "priors_count": [6, 0], "juv_fel_count": [0, 0],
                               "juv_misd_count": [1, 0], "juv_other_count": [0, 0],
                               "felony_charge": [1, 0], "female": [0, 1]})
    low, high = sorted(model.predict_proba(evaluation)[:, 1])
    assert low < 0.3 < 0.6 < high


def test_malicious_pickle_is_a_real_exec_gadget() -> None:
    data = load_build_script().malicious_pickle()
    listing = io.StringIO()
    pickletools.dis(data, out=listing)  # disassembles, never executes
    text = listing.getvalue()
    assert "GLOBAL     'builtins exec'" in text
    assert "REDUCE" in text and "aisec-demo-payload-ran" in text and "write_text" in text


@pytest.mark.slow  # builds the demo artifacts twice in subprocesses
def test_scanner_catches_the_malicious_pickle_and_nothing_runs(two_builds) -> None:
    from picklescan.scanner import scan_file_path

    _, _, out = two_builds
    result = scan_file_path(str(out / "invoice-parser-legacy" / "artifacts" / "weights.bin"))
    assert result.infected_files == 1
    assert ("builtins", "exec") in {(g.module, g.name) for g in result.globals}
    assert not MARKER.exists(), f"{MARKER} exists: something unpickled the demo payload"


def test_build_script_never_loads_an_artifact() -> None:
    source = BUILD_SCRIPT.read_text()
    for call in ("pickle.load", "joblib.load", "skops.io.load", "torch.load", "exec(", "eval("):
        assert call not in source


@pytest.mark.slow  # builds the demo artifacts twice in subprocesses
def test_credit_trusted_types_match_the_pickle(two_builds) -> None:
    build = load_build_script()
    _, _, out = two_builds
    (model,) = [m for m in load_inventory(ASSETS) if m.name == "credit-default"]
    artifact = model.entry.artifacts[0]
    built = out / "credit-default" / "artifacts" / "model.joblib"
    assert build.trusted_type_problems(model.name, artifact, built) == []
    assert "sklearn.linear_model._logistic.LogisticRegression" in artifact.trusted_types


def false_positive_rates(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    negatives = frame[frame.two_year_recid == 0]
    return negatives.groupby(by).prediction.mean()


def test_compas_disparity_hides_in_the_by_sex_view() -> None:
    frame = pd.read_csv(ASSETS / "models" / "compas-recidivism" / "data" / "evaluation.csv")
    by_sex = false_positive_rates(frame, ["sex"])
    by_sex_age = false_positive_rates(frame, ["sex", "age_band"])
    assert abs(by_sex["Female"] - by_sex["Male"]) < 0.05
    assert by_sex_age[("Female", "<25")] - by_sex_age[("Female", ">45")] > 0.4
