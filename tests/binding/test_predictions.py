"""Issue 18, attack 2: the evaluation file's prediction column must be what the artifact predicts.

A real scikit-learn model saved with skops flags every applicant under 25; the attacker replaces
the file's prediction column with fair-looking predictions. The gate re-scores the rows with the
artifact in a confined process and blocks. Artifacts it cannot run need a signed statement.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from inventory_builder import add_model, new_inventory
from signing import demo_key

from aisec_pipeline.binding.bind import RESCORED, SIGNED, bind_predictions
from aisec_pipeline.binding.rescore import TOLERANCE
from aisec_pipeline.binding.statement import write_statement
from aisec_pipeline.governance.policy import load_policy
from aisec_pipeline.inventory import load_model
from aisec_pipeline.verdict import Status

ROWS = 1200
LOGISTIC = "sklearn.linear_model._logistic.LogisticRegression"


def applicants(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(19, 70, ROWS)
    income = rng.normal(3000, 800, ROWS).round(0)
    frame = pd.DataFrame({"age": age.astype(float), "income": income})
    frame["age_band"] = np.where(age < 25, "<25", np.where(age <= 45, "25-45", ">45"))
    frame["sex"] = rng.choice(["female", "male"], ROWS)
    frame["default"] = (age < 25).astype(int)  # the model learns: every young applicant defaults
    return frame


def skops_model(tmp_path) -> tuple[bytes, pd.DataFrame]:
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    frame = applicants()
    model = LogisticRegression(max_iter=1000).fit(frame[["age", "income"]], frame["default"])
    frame["prediction"] = model.predict(frame[["age", "income"]])
    assert frame.loc[frame.age_band == "<25", "prediction"].eq(1).all()
    path = tmp_path / "model.skops"
    dump(model, path)
    return path.read_bytes(), frame


def fair_looking(frame: pd.DataFrame) -> pd.DataFrame:
    """The attack: every segment gets the same selection rate; the model's real flags are hidden."""
    forged = frame.copy()
    forged["prediction"] = np.random.default_rng(7).random(len(frame)) < forged["default"].mean()
    forged["prediction"] = forged["prediction"].astype(int)
    return forged


EVALUATION = {"data": "data/evaluation.csv", "label": "default", "prediction": "prediction",
              "segments": {"sex": ["female", "male"], "age_band": ["<25", "25-45", ">45"]},
              "min_rows": 500}


def classifier(root, name: str, artifact: bytes, frame: pd.DataFrame, artifact_name: str,
               trusted: list[str], **evaluation) -> object:
    folder = add_model(root, name, artifact, artifact_name=artifact_name, kind="classifier",
                       evaluation={**EVALUATION, **evaluation}, reviewed=False)
    entry = yaml.safe_load((folder / "model.yaml").read_text())
    entry["artifacts"][0]["trusted_types"] = trusted
    (folder / "model.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))
    (folder / "data").mkdir()
    frame.to_csv(folder / "data" / "evaluation.csv", index=False)
    return load_model(folder)


@pytest.fixture
def inventory(tmp_path):
    return new_inventory(tmp_path / "assets")


def scanned(model, root):
    from aisec_pipeline.assessments import assess_artifacts

    verdict = assess_artifacts(model, load_policy(root))
    return verdict


def binding_of(model, root, scan):
    evaluation = model.path(model.entry.evaluation.data)
    frame = pd.read_csv(evaluation)
    digest = hashlib.sha256(evaluation.read_bytes()).hexdigest()
    return bind_predictions(model, load_policy(root).people, frame, digest, scan)


@pytest.mark.slow  # a real scikit-learn process re-scores the rows
def test_the_artifacts_own_predictions_are_bound_by_rescoring(inventory, tmp_path):
    artifact, frame = skops_model(tmp_path)
    model = classifier(inventory, "lender", artifact, frame, "model.skops", [LOGISTIC])
    scan = scanned(model, inventory)
    assert scan.passed, scan.reasons
    verdict = binding_of(model, inventory, scan)
    assert verdict.status is Status.PASSED, verdict.reasons
    assert verdict.figures["bound_by"] == RESCORED
    assert verdict.figures["rows_rescored"] == ROWS and verdict.figures["rows_disagreeing"] == 0
    assert verdict.figures["tolerance"] == TOLERANCE


@pytest.mark.slow  # a real scikit-learn process re-scores the rows
def test_fair_looking_predictions_the_model_does_not_make_are_blocked(inventory, tmp_path):
    artifact, frame = skops_model(tmp_path)
    model = classifier(inventory, "lender", artifact, fair_looking(frame), "model.skops", [LOGISTIC])
    verdict = binding_of(model, inventory, scanned(model, inventory))
    assert verdict.status is Status.FAILED
    assert "'prediction' column is not what the artifact predicts" in verdict.reasons[0]
    assert any(s["segment"] == "age_band=<25" for s in verdict.figures["segments_over_tolerance"])


@pytest.mark.slow  # a real scikit-learn process re-scores the rows
def test_the_bias_report_blocks_the_forged_column(inventory, tmp_path):
    """Before the fix the bias report judged the forged column and passed."""
    from aisec_pipeline.assessments import assess_bias

    artifact, frame = skops_model(tmp_path)
    model = classifier(inventory, "lender", artifact, fair_looking(frame), "model.skops", [LOGISTIC])
    out = tmp_path / "out"
    out.mkdir()
    assert not assess_bias(model, load_policy(inventory), out).passed
    verdict = assess_bias(model, load_policy(inventory), out, scan=scanned(model, inventory))
    assert verdict.status is Status.FAILED
    assert any("is not what the artifact predicts" in r for r in verdict.reasons)


def test_rescoring_waits_for_a_passed_scan(inventory, tmp_path):
    artifact, frame = skops_model(tmp_path)
    model = classifier(inventory, "lender", artifact, frame, "model.skops", [])  # LR not trusted
    scan = scanned(model, inventory)
    assert not scan.passed
    verdict = binding_of(model, inventory, scan)
    assert verdict.status is Status.UNASSESSED and "after its artifact_scan passed" in verdict.reasons[0]


def joblib_classifier(inventory, tmp_path, frame=None, **evaluation):
    import joblib
    from sklearn.linear_model import LogisticRegression

    frame = applicants() if frame is None else frame
    model = LogisticRegression(max_iter=1000).fit(frame[["age", "income"]], frame["default"])
    frame = frame.assign(prediction=model.predict(frame[["age", "income"]]))
    joblib.dump(model, tmp_path / "model.joblib")
    return classifier(inventory, "lender", (tmp_path / "model.joblib").read_bytes(), frame,
                      "model.joblib", [], **evaluation)


def test_an_artifact_it_cannot_run_needs_a_signed_statement(inventory, tmp_path):
    model = joblib_classifier(inventory, tmp_path)
    verdict = binding_of(model, inventory, None)
    assert verdict.status is Status.FAILED
    assert "no signed statement binds the evaluation file" in verdict.reasons[0]

    from aisec_pipeline.trust.keys import load_signer

    write_statement(model, load_signer(demo_key("Amara Okafor")))  # the card's owner, a model owner
    verdict = binding_of(model, inventory, None)
    assert verdict.status is Status.PASSED, verdict.reasons
    assert verdict.figures["bound_by"] == SIGNED and verdict.figures["statement_signers"] == ["Amara Okafor"]


def test_a_statement_binds_only_the_file_it_names(inventory, tmp_path):
    from aisec_pipeline.trust.keys import load_signer

    model = joblib_classifier(inventory, tmp_path)
    write_statement(model, load_signer(demo_key("Amara Okafor")))
    data = model.path("data/evaluation.csv")
    forged = fair_looking(pd.read_csv(data))
    forged.to_csv(data, index=False)  # the attack, on a model the gate cannot run
    verdict = binding_of(model, inventory, None)
    assert verdict.status is Status.FAILED and "evaluation_sha256 says" in verdict.reasons[0]


def test_a_statement_by_someone_without_the_role_does_not_bind(inventory, tmp_path):
    from aisec_pipeline.trust.keys import load_signer

    model = joblib_classifier(inventory, tmp_path)
    write_statement(model, load_signer(demo_key("Jonas Weber")))  # a card reviewer, not an owner
    verdict = binding_of(model, inventory, None)
    assert verdict.status is Status.FAILED and "not signed by the card's owner Amara Okafor" in verdict.reasons[0]


def test_another_models_owner_cannot_vouch_for_this_models_predictions(inventory, tmp_path):
    from aisec_pipeline.trust.keys import load_signer

    model = joblib_classifier(inventory, tmp_path)
    write_statement(model, load_signer(demo_key("Lukas Brenner")))  # a keyring model_owner, of credit-default
    verdict = binding_of(model, inventory, None)
    assert verdict.status is Status.FAILED and verdict.figures["statement_signers"] == []
    assert "another model's owner cannot vouch" in verdict.reasons[0] and "signed by Lukas Brenner" in verdict.reasons[0]


def test_a_deployed_tools_predictions_need_a_statement_even_for_a_runnable_artifact(inventory, tmp_path):
    artifact, frame = skops_model(tmp_path)
    model = classifier(inventory, "lender", artifact, fair_looking(frame), "model.skops", [LOGISTIC],
                       predictions_from="deployed_tool")
    verdict = binding_of(model, inventory, scanned(model, inventory))
    assert verdict.status is Status.FAILED
    assert verdict.figures["why_not_rescored"].startswith("the registry declares the prediction column")
    statement = model.path("data/evaluation.csv.statement.json")
    assert not statement.exists()
    json.dumps(verdict.figures)  # recorded as metadata


DEMO_BOUND = {"credit-default": "Lukas Brenner", "compas-recidivism": "Amara Okafor"}


@pytest.mark.parametrize("name", sorted(DEMO_BOUND))
def test_the_demo_classifiers_are_bound_by_their_owners_statements(inventory_copy, name):
    model = load_model(inventory_copy / "models" / name)
    verdict = binding_of(model, inventory_copy, None)
    assert verdict.status is Status.PASSED, verdict.reasons
    assert verdict.figures["statement_signers"] == [DEMO_BOUND[name]]


def test_fair_looking_predictions_in_the_demo_credit_file_are_blocked(inventory_copy, tmp_path):
    """The attack on the demo: the file says the under-25s are flagged like everyone else."""
    from aisec_pipeline.assessments import assess_bias

    model = load_model(inventory_copy / "models" / "credit-default")
    data = model.path("data/evaluation.csv")
    frame = pd.read_csv(data)
    frame.loc[frame.age_band == "<25", "prediction"] = 0
    frame.to_csv(data, index=False)
    verdict = assess_bias(model, load_policy(inventory_copy), tmp_path)
    assert verdict.status is Status.FAILED
    assert verdict.figures["outcome"] == "unbound"
    assert any("does not bind this evaluation file to this artifact" in r for r in verdict.reasons)


def onnx_model() -> bytes:
    """An ONNX graph (built with onnx.helper, no converter) that flags every applicant under 25."""
    from onnx import TensorProto, helper

    age = helper.make_tensor_value_info("age", TensorProto.FLOAT, [None, 1])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, [None, 1])
    limit = helper.make_tensor("limit", TensorProto.FLOAT, [], [25.0])
    graph = helper.make_graph([helper.make_node("Less", ["age", "limit"], ["young"]),
                               helper.make_node("Cast", ["young"], ["label"], to=TensorProto.INT64)],
                              "young_flagger", [age], [label], [limit])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.mark.slow  # onnxruntime re-scores the rows in a confined process
def test_an_onnx_artifact_is_rescored_and_a_forged_column_blocked(inventory):
    frame = applicants()
    frame["prediction"] = (frame["age"] < 25).astype(int)  # what the graph really predicts
    model = classifier(inventory, "lender", onnx_model(), frame, "model.onnx", [])
    scan = scanned(model, inventory)
    assert scan.passed, scan.reasons
    honest = binding_of(model, inventory, scan)
    assert honest.status is Status.PASSED and honest.figures["bound_by"] == RESCORED, honest.reasons
    fair_looking(frame).to_csv(model.path("data/evaluation.csv"), index=False)
    forged = binding_of(model, inventory, scan)
    assert forged.status is Status.FAILED and "is not what the artifact predicts" in forged.reasons[0]


def test_the_cards_owner_binds_from_the_cli_and_nobody_else_can(inventory, tmp_path, capsys):
    from aisec_pipeline.cli import main

    model = joblib_classifier(inventory, tmp_path)
    statement = model.path("data/evaluation.csv.statement.json")
    bind = ["evaluation", "bind", "lender", "--inventory", str(inventory)]
    assert main([*bind, "--key", str(demo_key("Lukas Brenner"))]) == 1
    assert "Lukas Brenner does not own lender's card (Amara Okafor does)" in capsys.readouterr().err
    assert main([*bind, "--key", str(demo_key("Jonas Weber"))]) == 1
    assert "this needs one of: model_owner" in capsys.readouterr().err
    assert main(bind) == 2 and "needs the card owner's signature" in capsys.readouterr().err
    assert not statement.exists(), "a refused signer writes nothing"
    assert main([*bind, "--key", str(demo_key("Amara Okafor"))]) == 0
    assert f"bound to artifact digest {model.entry.digest} by Amara Okafor" in capsys.readouterr().out
    verdict = binding_of(model, inventory, None)
    assert verdict.status is Status.PASSED and verdict.figures["statement_signers"] == ["Amara Okafor"]


def young_flagged(seed: int = 3) -> pd.DataFrame:
    """Labels unrelated to age; the deployed tool flags every applicant under 25 (an FPR gap)."""
    frame = applicants()
    frame["default"] = (np.random.default_rng(seed).random(len(frame)) < 0.35).astype(int)
    frame["prediction"] = ((frame["age"] < 25) | (frame["default"] == 1)).astype(int)
    return frame


def test_a_file_flipped_only_while_it_is_read_is_judged_as_hashed(inventory, tmp_path, monkeypatch):
    """The attack on a hash-before-and-after check: the evaluation file is the signed one when
    hashed, a fair-looking one while pandas reads it, the signed one again after. The rows judged
    are now read from a private copy taken in the read that hashed them."""
    from aisec_pipeline import fairness
    from aisec_pipeline.assessments import assess_bias
    from aisec_pipeline.trust.keys import load_signer

    genuine = young_flagged()
    model = classifier(inventory, "lender", b"not run: a deployed tool's output", genuine, "model.bin", [],
                       predictions_from="deployed_tool")
    owner = load_signer(demo_key("Amara Okafor"))
    data, out = model.path("data/evaluation.csv"), tmp_path / "out"
    out.mkdir()
    forged_bytes = fair_looking(genuine).to_csv(index=False).encode()
    genuine_bytes = data.read_bytes()

    data.write_bytes(forged_bytes)  # the forged rows, honestly bound, pass: the flip would pay
    write_statement(model, owner)
    honest = assess_bias(model, load_policy(inventory), out)
    assert honest.passed, honest.reasons
    data.write_bytes(genuine_bytes)
    write_statement(model, owner)
    assert assess_bias(model, load_policy(inventory), out).status is Status.FAILED

    real_read = fairness.read_table

    def flipped_for_the_read(path, *args, **kwargs):
        data.write_bytes(forged_bytes)
        try:
            return real_read(path, *args, **kwargs)
        finally:
            data.write_bytes(genuine_bytes)

    monkeypatch.setattr(fairness, "read_table", flipped_for_the_read)
    verdict = assess_bias(model, load_policy(inventory), out)
    assert verdict.status is Status.FAILED, "the flipped rows were judged"
    assert verdict.figures["prediction_binding"]["statement_signers"] == ["Amara Okafor"]
    assert any("age_band=<25" in r for r in verdict.reasons), verdict.reasons


def test_an_unreadable_evaluation_file_is_named_as_the_inventory_has_it(inventory, tmp_path):
    from aisec_pipeline.assessments import assess_bias
    from aisec_pipeline.fairness.tables import TableError

    model = classifier(inventory, "lender", b"not run", young_flagged(), "model.bin", [],
                       predictions_from="deployed_tool")
    data = model.path("data/evaluation.csv")
    data.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    with pytest.raises(TableError, match=f"^{data}: cannot parse as parquet"):
        assess_bias(model, load_policy(inventory), tmp_path)
