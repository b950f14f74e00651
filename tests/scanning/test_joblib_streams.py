"""joblib writes an object array (e.g. `feature_names_in_` of an estimator fitted on a DataFrame)
as a separate pickle stream nested inside the outer one. Each stream has its own memo, so the
engines must see each stream on its own: spliced together, picklescan resolved a memo reference
to `None.dtype` and modelscan crashed with a TypeError."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from corpus import MARKER_PREFIX, Payload

from aisec_pipeline.scanning import scan_file
from aisec_pipeline.scanning.context import ScanContext
from aisec_pipeline.scanning.pickle_analysis import PickleWalker
from aisec_pipeline.scanning.streams import SkippingReader

# Exactly the classes the pipeline references that the default allowlist does not hold.
TRUSTED = (
    "numpy.float64",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
)


@pytest.fixture(scope="module")
def pipeline():
    """A credit-scoring pipeline like the demo's: fitted on a DataFrame, so it holds object arrays."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"amount": rng.random(60) * 1e4, "duration": rng.integers(6, 72, 60).astype(float),
                          "purpose": rng.choice(["car", "tv", "education"], 60)})
    features = ColumnTransformer([("numeric", StandardScaler(), ["amount", "duration"]),
                                  ("categorical", OneHotEncoder(handle_unknown="ignore"), ["purpose"])])
    return Pipeline([("features", features), ("model", LogisticRegression())]).fit(frame, np.arange(60) % 2)


def _dump(obj, path: Path) -> Path:
    import joblib

    joblib.dump(obj, path)
    return path


def test_the_dump_really_nests_pickle_streams(pipeline, tmp_path):
    path = _dump(pipeline, tmp_path / "model.joblib")
    with open(path, "rb") as raw:
        walk = PickleWalker(ScanContext(), "").run(SkippingReader(raw))
    assert walk.complete and walk.nested, "no object array was written as a nested pickle"
    assert len(walk.streams()) == 1 + len(walk.nested)


def test_trusted_pipeline_is_safe_and_every_engine_is_clean(pipeline, tmp_path):
    report = scan_file(_dump(pipeline, tmp_path / "model.joblib"), TRUSTED)
    assert report.verdict == "safe", report.findings
    assert report.findings == []
    assert report.trusted_types_used == sorted(TRUSTED)


@pytest.mark.parametrize("where", ["before", "after"])
def test_payload_around_the_nested_streams_is_caught_by_every_engine(pipeline, tmp_path, where):
    marker = tmp_path / f"{MARKER_PREFIX}joblib_{where}"
    payload = Payload(os.system, f"touch {marker}")
    items = [payload, pipeline] if where == "before" else [pipeline, payload]
    report = scan_file(_dump(items, tmp_path / f"{where}.joblib"), TRUSTED)
    assert report.verdict == "unsafe"
    engines = {f.engine for f in report.findings if f.severity == "critical"}
    assert engines == {"aisec", "picklescan", "modelscan"}
    assert not [f for f in report.findings if f.is_error or "None." in f.detail]
    assert not marker.exists()
