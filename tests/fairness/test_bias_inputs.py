"""What the counts pass accepts and what it refuses, on real files: compressed CSV, duplicated
headers, missing columns, label encodings, segment values that keep their own form, values
that would read as another segment, and chunked reading equal to reading at once."""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import lzma

import numpy as np
import pandas as pd
import pytest

from aisec_pipeline.fairness.bias import measure_bias
from aisec_pipeline.fairness.counts import DataError, cell_counts, count_file
from aisec_pipeline.fairness.tables import TableError, read_table
from aisec_pipeline.governance.policy import BiasPolicy

LABEL, PREDICTION = "two_year_recid", "prediction"

COMPAS_COLUMNS = [LABEL, PREDICTION, "sex", "race", "age_cat"]


def same_counts(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    return left.reset_index(drop=True).equals(right.reset_index(drop=True)) and left.attrs == right.attrs


@pytest.fixture(scope="module")
def compas_csv(compas, tmp_path_factory):
    frame = compas[COMPAS_COLUMNS].copy()
    frame.loc[frame.index[::97], LABEL] = None  # some rows without an outcome
    path = tmp_path_factory.mktemp("inputs") / "compas.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_compressed_csv_is_read_by_content(compas_csv, tmp_path, compress):
    path, frame = compas_csv
    packed = tmp_path / "data.csv.packed"  # the name says nothing: the bytes decide
    packed.write_bytes(compress(path.read_bytes()))
    expected = cell_counts(frame, LABEL, PREDICTION, ["sex", "race"])
    assert same_counts(count_file(packed, LABEL, PREDICTION, ["sex", "race"]), expected)
    assert len(read_table(packed)) == len(frame)


def test_zstd_is_read_when_zstandard_is_installed_else_refused_by_name(compas_csv, tmp_path):
    path, frame = compas_csv
    packed = tmp_path / "data.csv.zst"
    if importlib.util.find_spec("zstandard"):
        import zstandard

        packed.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
        assert len(read_table(packed)) == len(frame)
        assert same_counts(count_file(packed, LABEL, PREDICTION, ["sex"]), cell_counts(frame, LABEL, PREDICTION, ["sex"]))
    else:
        packed.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 32)
        with pytest.raises(TableError, match="zstd-compressed.*'zstandard' package"):
            count_file(packed, LABEL, PREDICTION, ["sex"])


def test_a_truncated_archive_fails_closed(compas_csv, tmp_path):
    path, _ = compas_csv
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(path.read_bytes())[:4000])
    with pytest.raises(TableError, match="cut.csv.gz: cannot parse as csv"):
        count_file(cut, LABEL, PREDICTION, ["sex"])


def test_reading_in_chunks_equals_reading_at_once(compas_csv):
    path, frame = compas_csv
    at_once = cell_counts(frame, LABEL, PREDICTION, ["sex", "race", "age_cat"])
    assert at_once.attrs["excluded"] == {"no label": len(frame.index[::97])}
    for block_bytes in (4096, 1 << 22):  # CSV: Arrow parses blocks of this many bytes
        assert same_counts(count_file(path, LABEL, PREDICTION, ["sex", "race", "age_cat"],
                                      block_bytes=block_bytes), at_once)
    parquet = path.with_suffix(".parquet")
    frame.to_parquet(parquet, row_group_size=700)
    assert same_counts(count_file(parquet, LABEL, PREDICTION, ["sex", "race", "age_cat"], chunk_rows=300), at_once)


def test_a_duplicated_header_is_refused_naming_the_column(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("y,p,g,g\n1,1,a,b\n0,0,a,b\n")
    with pytest.raises(TableError, match="'g' more than once"):
        count_file(path, "y", "p", ["g"])
    with pytest.raises(TableError, match="'g' more than once"):
        read_table(path)
    assert len(read_table(path, columns=["y", "p"])) == 2  # an unused copy does no harm


def test_a_missing_column_lists_the_columns_that_exist(compas_csv, balanced):
    path, _ = compas_csv
    with pytest.raises(TableError, match=r"column\(s\) not found: 'gender'; the file has: 'two_year_recid', "
                                         r"'prediction', 'sex', 'race', 'age_cat'"):
        count_file(path, LABEL, PREDICTION, ["gender"])
    with pytest.raises(DataError, match="the data has: 'g', 'y', 'p'"):
        cell_counts(balanced({"a": 10}), "y", "p", ["gender"])


@pytest.mark.parametrize("column", ["y", "p"])
def test_the_label_or_prediction_as_a_segment_is_refused(column, balanced):
    with pytest.raises(DataError, match=f"column '{column}' is the (label|prediction); it cannot also be a segment"):
        cell_counts(balanced({"a": 10}), "y", "p", ["g", column])


@pytest.mark.parametrize("encode", [
    lambda bits: bits.astype(str),                 # "0"/"1" text, as a Parquet string column
    lambda bits: bits.astype(bool),                # booleans
    lambda bits: np.where(bits == 1, "true", "false"),
], ids=["text", "bool", "true-false"])
def test_binary_labels_in_other_encodings_are_accepted(tmp_path, encode, balanced):
    frame = balanced({"a": 100, "b": 100})
    expected = cell_counts(frame, "y", "p", ["g"])
    encoded = frame.assign(y=encode(frame["y"].to_numpy()), p=encode(frame["p"].to_numpy()))
    path = tmp_path / "encoded.parquet"
    encoded.to_parquet(path)
    assert same_counts(count_file(path, "y", "p", ["g"]), expected)


def test_yes_no_labels_need_the_positive_value_named(tmp_path, balanced):
    frame = balanced({"a": 100, "b": 100})
    expected = cell_counts(frame, "y", "p", ["g"])
    words = frame.assign(y=np.where(frame["y"] == 1, "yes", "no"))
    path = tmp_path / "words.csv"
    words.sort_values("y").to_csv(path, index=False)  # the first chunks hold no "yes" at all
    with pytest.raises(DataError, match="column 'y' must be binary.*found 'no', 'yes'.*--positive"):
        count_file(path, "y", "p", ["g"])
    assert same_counts(count_file(path, "y", "p", ["g"], positive="yes", block_bytes=1024), expected)
    with pytest.raises(DataError, match="column 'y' has 3 values"):
        cell_counts(words.assign(y=["yes", "no", "maybe", "no"] * 50), "y", "p", ["g"], positive="yes")


def test_null_and_a_literal_missing_value_stay_distinct_segments(balanced):
    frame = balanced({"x": 40, "y": 40})
    frame["g"] = [None] * 20 + ["(missing)"] * 20 + ["a"] * 40
    counts = cell_counts(frame.rename(columns={"y": "label"}), "label", "p", ["g"])
    assert dict(zip(counts["g"], counts[["tp", "fp", "tn", "fn"]].sum(axis=1))) == \
        {"(missing)": 20, '"(missing)"': 20, "a": 40}
    report = measure_bias(counts, ["g"], BiasPolicy(max_difference=0.1, min_count=5))
    assert [s["segment"] for s in report.to_json()["segments"]] == [{"g": '(missing)'}, {"g": None}, {"g": "a"}]


def test_numeric_segment_values_keep_their_own_form(tmp_path, balanced):
    frame = balanced({"a": 30, "b": 30})
    frame["age"] = [20] * 20 + [None] * 10 + [35] * 20 + [2.5] * 10
    assert set(cell_counts(frame, "y", "p", ["age"])["age"]) == {"20", "35", "2.5", "(missing)"}
    frame.to_parquet(tmp_path / "ages.parquet")  # a float column, because of the null
    assert set(count_file(tmp_path / "ages.parquet", "y", "p", ["age"])["age"]) == {"20", "35", "2.5", "(missing)"}
    path = tmp_path / "ages.csv"
    frame.to_csv(path, index=False)  # pandas writes 20.0 for a float column; the file says so
    assert set(count_file(path, "y", "p", ["age"])["age"]) == {"20.0", "35.0", "2.5", "(missing)"}
    path.write_text("y,p,age\n" + "".join(f"{y},{p},{a}\n" for y, p, a in [(1, 1, 20), (0, 0, ""), (1, 0, 35)]))
    assert set(count_file(path, "y", "p", ["age"])["age"]) == {"20", "35", "(missing)"}


def test_a_value_that_reads_as_an_intersection_is_refused_naming_the_column(balanced):
    frame = balanced({"a x reg=x": 40, "b": 40}, column="area").assign(reg=["x", "z"] * 40)
    with pytest.raises(DataError, match="segment column 'area' has the value 'a x reg=x'"):
        cell_counts(frame, "y", "p", ["area", "reg"])


def test_merging_along_the_way_equals_merging_once(compas_csv, monkeypatch):
    """Groups from many batches are summed as they come (memory follows the distinct
    combinations): the counts are the same as from one merge at the end."""
    from aisec_pipeline.fairness import counts as counts_module

    path, frame = compas_csv
    at_once = cell_counts(frame, LABEL, PREDICTION, ["sex", "race", "age_cat"])
    monkeypatch.setattr(counts_module, "_MERGE_ROWS", 10)
    assert same_counts(count_file(path, LABEL, PREDICTION, ["sex", "race", "age_cat"], block_bytes=2048), at_once)


def test_a_label_that_changes_form_in_a_later_block_is_judged_on_every_value(tmp_path):
    """Arrow fixes a column's type from the first block; the text read keeps every value as
    written, so a later "yes" is named like any other non-binary value, never a parser error."""
    path = tmp_path / "late.csv"
    path.write_text("y,p,g\n" + "1.0,1,a\n0.0,0,b\n" * 2000 + "yes,1,a\n")
    with pytest.raises(DataError, match=r"column 'y' must be binary.*found '0', '1', 'yes'"):
        count_file(path, "y", "p", ["g"], block_bytes=4096)
    path.write_text("y,p,g\n" + "1.0,1,a\n0.0,0,b\n" * 2000)
    counts = count_file(path, "y", "p", ["g"], block_bytes=4096)
    assert counts[["tp", "tn"]].sum().tolist() == [2000, 2000]


def test_a_quoted_newline_inside_a_segment_value_stays_one_row(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('y,p,g\n1,1,"two\nlines"\n0,0,plain\n')
    counts = count_file(path, "y", "p", ["g"])
    assert sorted(counts["g"]) == ["plain", "two\nlines"] and int(counts[["tp", "tn"]].sum().sum()) == 2
