"""skops files: the schema is walked as JSON (never loaded) and every type outside skops' own
defaults and the trusted types is a finding; members are scanned by content."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from corpus import MARKER_PREFIX, Payload

from aisec_pipeline.scanning import scan_file

LOGISTIC = "sklearn.linear_model._logistic.LogisticRegression"


@pytest.fixture(scope="module")
def benign(tmp_path_factory) -> Path:
    import skops.io
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    model = LogisticRegression().fit(rng.random((40, 3)), np.arange(40) % 2)
    path = tmp_path_factory.mktemp("skops") / "model.skops"
    skops.io.dump(model, path)
    return path


def _rewrite(source: Path, target: Path, schema_edit=None, replace: dict[str, bytes] | None = None) -> Path:
    """Copy a skops zip, editing its schema and replacing or adding members."""
    replace = dict(replace or {})
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = replace.pop(info.filename, None) or old.read(info)
            if info.filename == "schema.json" and schema_edit is not None:
                schema = json.loads(data)
                schema_edit(schema)
                data = json.dumps(schema).encode()
            new.writestr(info.filename, data)
        for name, data in replace.items():
            new.writestr(name, data)
    return target


def _set_param(name: str, node: dict):
    def edit(schema: dict) -> None:
        schema["content"]["content"][name] = node
    return edit


def _rules(report) -> set[str]:
    return {f.rule for f in report.findings}


def test_benign_skops_is_safe_only_with_its_estimator_trusted(benign):
    untrusted = scan_file(benign)
    assert untrusted.format == "skops" and untrusted.verdict == "unsafe"
    assert [f.rule for f in untrusted.findings] == ["skops.untrusted-type"]
    assert LOGISTIC in untrusted.findings[0].detail and str(benign) not in untrusted.findings[0].detail
    trusted = scan_file(benign, [LOGISTIC])
    assert trusted.verdict == "safe" and trusted.findings == []
    assert trusted.trusted_types_used == [LOGISTIC]


def test_walk_finds_every_type_skops_own_audit_finds(tmp_path):
    """Cross-check against skops' audit on a real pipeline: aisec reports what skops reports,
    plus only the scikit-learn estimators skops trusts by default and aisec does not."""
    import pandas as pd
    import skops.io
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.DataFrame({"a": np.arange(20.0), "b": ["x", "y"] * 10})
    features = ColumnTransformer([("n", StandardScaler(), ["a"]), ("c", OneHotEncoder(), ["b"])])
    model = Pipeline([("f", features), ("m", RandomForestClassifier(n_estimators=2, random_state=0))])
    path = tmp_path / "pipeline.skops"
    skops.io.dump(model.fit(frame, np.arange(20) % 2), path)
    report = scan_file(path)
    named = {f.detail.split(" ")[2] for f in report.findings if f.rule == "skops.untrusted-type"}
    skops_untrusted = set(skops.io.get_untrusted_types(file=path))
    assert skops_untrusted and skops_untrusted <= named
    assert all(name.startswith("sklearn.") for name in named - skops_untrusted)
    assert scan_file(path, named).verdict == "safe"


FUNCTION_EVAL = {"__class__": "eval", "__module__": "builtins", "__loader__": "FunctionNode",
                 "content": {"module_path": "builtins", "function": "eval"}, "__id__": 9001}
OBJECT_SYSTEM = {"__class__": "system", "__module__": "os", "__loader__": "ObjectNode",
                 "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {},
                             "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
                                           "content": []}, "__id__": 9003}, "__id__": 9002}


@pytest.mark.parametrize(("node", "qualified"), [(FUNCTION_EVAL, "builtins.eval"), (OBJECT_SYSTEM, "os.system")])
def test_schema_naming_a_dangerous_callable_is_unsafe_even_when_trusted(benign, tmp_path, node, qualified):
    path = _rewrite(benign, tmp_path / "evil.skops", _set_param("C", node))
    report = scan_file(path, [LOGISTIC, qualified])
    assert report.format == "skops" and report.verdict == "unsafe"
    dangerous = [f for f in report.findings if f.rule == "skops.dangerous-type"]
    assert len(dangerous) == 1 and dangerous[0].severity == "critical"
    assert dangerous[0].detail.startswith(f"schema.json: dangerous type {qualified} (trusted by the registry entry")
    assert dangerous[0].detail.endswith("never trusted) (at $.content.content.C)")


def test_crafted_function_node_is_one_skops_itself_would_build(benign, tmp_path):
    import skops.io

    path = _rewrite(benign, tmp_path / "evil.skops", _set_param("C", FUNCTION_EVAL))
    assert "builtins.eval" in skops.io.get_untrusted_types(file=path)


def test_method_node_names_the_method_it_fetches(benign, tmp_path):
    schema = json.loads(zipfile.ZipFile(benign).read("schema.json"))
    obj = {key: schema[key] for key in ("__class__", "__module__", "__loader__", "content")}
    method = {"__class__": schema["__class__"], "__module__": schema["__module__"], "__loader__": "MethodNode",
              "content": {"obj": obj, "func": "__reduce_ex__"}, "__id__": 9004}
    path = _rewrite(benign, tmp_path / "method.skops", _set_param("tol", method))
    report = scan_file(path, [LOGISTIC])
    assert report.verdict == "unsafe" and "skops.dunder-type" in _rules(report)
    assert any(f"{LOGISTIC}.__reduce_ex__" in f.detail for f in report.findings)


def test_members_are_scanned_by_content(benign, tmp_path):
    marker = tmp_path / f"{MARKER_PREFIX}skops"
    payload = Payload(os.system, f"touch {marker}")
    array_member = next(n for n in zipfile.ZipFile(benign).namelist() if n.endswith(".npy"))
    with open(tmp_path / "objects.npy", "wb") as out:
        np.save(out, np.array([payload], dtype=object), allow_pickle=True)
    objects = _rewrite(benign, tmp_path / "objects.skops", replace={array_member: (tmp_path / "objects.npy").read_bytes()})
    report = scan_file(objects, [LOGISTIC])
    assert report.verdict == "unsafe" and {"numpy.object-dtype", "pickle.dangerous-global"} <= _rules(report)
    pickled = _rewrite(benign, tmp_path / "pickled.skops", replace={"extra.pkl": pickle.dumps(payload)})
    report = scan_file(pickled, [LOGISTIC])
    assert report.verdict == "unsafe" and {"zip.unexpected-pickle", "pickle.dangerous-global"} <= _rules(report)
    assert not marker.exists()


def test_a_zip_with_a_plain_schema_json_is_not_skops(tmp_path):
    path = tmp_path / "not-skops.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps({"__class__": "X", "__module__": "m", "__loader__": "ObjectNode"}))
    report = scan_file(path)
    # judged by content: a JSON member that names no code (issue 12: data members do not block)
    assert report.format == "zip" and report.verdict == "safe" and _rules(report) == set()
