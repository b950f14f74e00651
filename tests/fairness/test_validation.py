"""The evaluation data contract (great-expectations, ephemeral) and fail-closed file reading."""

from __future__ import annotations

import pytest

from aisec_pipeline.fairness.tables import TableError, read_table
from aisec_pipeline.fairness.validation import load_evaluation_data, validate_evaluation
from aisec_pipeline.verdict import Status


def test_real_compas_meets_its_contract(compas, compas_evaluation):
    verdict = validate_evaluation(compas, compas_evaluation)
    assert verdict.kind == "evaluation_data"
    assert verdict.status is Status.PASSED, verdict.reasons
    assert verdict.figures["rows"] == 6172


def test_each_failure_names_the_expectation_and_column(compas, compas_evaluation):
    broken = compas.copy()
    broken.loc[:5, "sex"] = "Unknown"
    broken.loc[:3, "prediction"] = 2
    broken.loc[:20, "age_cat"] = None
    broken = broken.drop(columns=["race"])
    verdict = validate_evaluation(broken, compas_evaluation)
    assert verdict.status is Status.FAILED
    reasons = "\n".join(verdict.reasons)
    assert "expect_column_values_to_be_in_set failed on column 'sex'" in reasons and "'Unknown'" in reasons
    assert "expect_column_values_to_be_in_set failed on column 'prediction'" in reasons
    assert "expect_column_values_to_not_be_null failed on column 'age_cat'" in reasons
    assert "expect_column_to_exist failed on column 'race': column is missing; the data has: 'sex', 'age'" in reasons
    assert len(verdict.reasons) == 4  # a missing column is reported once, not once per expectation


def test_labels_as_text_or_booleans_meet_the_contract(compas, compas_evaluation):
    text = compas.assign(two_year_recid=compas["two_year_recid"].astype(str), prediction=compas["prediction"] == 1)
    assert validate_evaluation(text, compas_evaluation).status is Status.PASSED
    words = compas.assign(two_year_recid=compas["two_year_recid"].map({0: "no", 1: "yes"}))
    verdict = validate_evaluation(words, compas_evaluation)
    assert verdict.status is Status.FAILED and "on column 'two_year_recid'" in verdict.reasons[0]


def test_too_few_rows(compas, compas_evaluation):
    verdict = validate_evaluation(compas.head(50), compas_evaluation)
    assert verdict.reasons == ("expect_table_row_count_to_be_between failed: 50 rows, need at least 1000",
                               "expect_column_distinct_values_to_contain_set failed on column 'race': "
                               "2 declared value(s) absent from the data: 'Asian', 'Native American'")


def test_nulls_within_the_declared_fraction_pass(compas, compas_evaluation):
    frame = compas.copy()
    frame.loc[:20, "two_year_recid"] = None
    allowed = compas_evaluation.model_copy(update={"max_null_fraction": 0.01})
    assert validate_evaluation(frame, allowed).status is Status.PASSED
    assert validate_evaluation(frame, compas_evaluation).status is Status.FAILED


def test_reads_parquet_and_csv_by_content(tmp_path, compas, compas_evaluation):
    compas.to_parquet(tmp_path / "data.bin")
    compas.to_csv(tmp_path / "data.txt", index=False)
    for name in ("data.bin", "data.txt"):
        frame, verdict = load_evaluation_data(tmp_path / name, compas_evaluation)
        assert len(frame) == 6172 and verdict.status is Status.PASSED


@pytest.mark.parametrize("name, content, message", [
    ("fake.parquet", b"sex,label\nMale,1\n", "named .parquet but the content is not that format"),
    ("blob.csv", bytes(range(256)) * 4, "binary content"),
    ("empty.csv", b"", "file is empty"),
    ("cut.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1", "cannot parse as parquet"),
])
def test_unreadable_files_fail_closed(tmp_path, compas_evaluation, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TableError, match=message):
        read_table(path)
    frame, verdict = load_evaluation_data(path, compas_evaluation)
    assert frame is None and verdict.status is Status.FAILED and message in verdict.reasons[0]


def test_missing_file_fails_closed(tmp_path, compas_evaluation):
    frame, verdict = load_evaluation_data(tmp_path / "absent.csv", compas_evaluation)
    assert frame is None and verdict.status is Status.FAILED and "cannot read" in verdict.reasons[0]
