"""The counts engine on real COMPAS data: values match fairlearn, the intersectional FPR gap
the by-sex view hides is found, thin groups are insufficient_data, corrections bite."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (MetricFrame, false_negative_rate, false_positive_rate, selection_rate,
                               true_positive_rate)
from sklearn.metrics import accuracy_score, precision_score

from aisec_pipeline.fairness.bias import measure_bias
from aisec_pipeline.fairness.counts import DataError, aggregate, cell_counts
from aisec_pipeline.fairness.engine import FAIL, INSUFFICIENT, OK
from aisec_pipeline.governance.policy import BiasPolicy

LABEL, PREDICTION = "two_year_recid", "prediction"

FAIRLEARN_METRICS = {
    "selection_rate": selection_rate, "tpr": true_positive_rate, "fnr": false_negative_rate,
    "fpr": false_positive_rate, "precision": lambda y, p: precision_score(y, p, zero_division=np.nan),
    "accuracy": accuracy_score,
}


def cell(report, key, metric):
    cells = report.cells
    return cells[(cells["key"] == key) & (cells["metric"] == metric)].iloc[0]


@pytest.mark.parametrize("columns", [["race"], ["sex", "age_cat"]])
def test_point_values_match_fairlearn(compas, compas_counts, policy, columns):
    frame = MetricFrame(metrics=FAIRLEARN_METRICS, y_true=compas[LABEL], y_pred=compas[PREDICTION],
                        sensitive_features=compas[columns])
    report = measure_bias(compas_counts, [] if len(columns) > 1 else columns, policy,
                          [tuple(columns)] if len(columns) > 1 else ())
    compared = 0
    for values, expected in frame.by_group.iterrows():
        values = values if isinstance(values, tuple) else (values,)
        key = " x ".join(f"{c}={v}" for c, v in zip(columns, values))
        for metric, value in expected.items():
            ours = cell(report, key, metric)["value"]
            if ours != ours:  # NaN: no denominator, fairlearn reports 0.0 there
                assert cell(report, key, metric)["denominator"] == 0
                continue
            assert ours == pytest.approx(value, abs=1e-12), (key, metric)
            compared += 1
    overall = report.overall.set_index("metric")["value"]
    for metric, value in frame.overall.items():
        assert overall[metric] == pytest.approx(value, abs=1e-12)
    assert compared >= 30


def test_by_sex_looks_fair_but_age_by_sex_fpr_gap_is_found(compas_counts, policy):
    by_sex = measure_bias(compas_counts, ["sex"], policy)
    assert cell(by_sex, "sex=Female", "fpr")["value"] == pytest.approx(0.302, abs=1e-3)
    assert cell(by_sex, "sex=Male", "fpr")["value"] == pytest.approx(0.303, abs=1e-3)
    assert not [v for v in by_sex.violations if v.metric == "fpr"]

    crossed = measure_bias(compas_counts, ["sex"], policy, [("sex", "age_cat")])
    young_women = cell(crossed, "sex=Female x age_cat=Less than 25", "fpr")
    older_women = cell(crossed, "sex=Female x age_cat=Greater than 45", "fpr")
    assert young_women["value"] == pytest.approx(0.608, abs=1e-3)
    assert older_women["value"] == pytest.approx(0.099, abs=1e-3)
    fpr_failures = {v.key for v in crossed.violations if v.metric == "fpr"}
    assert {"sex=Female x age_cat=Less than 25", "sex=Female x age_cat=Greater than 45"} <= fpr_failures
    sentence = next(v.sentence() for v in crossed.violations
                    if v.metric == "fpr" and v.key == "sex=Female x age_cat=Less than 25")
    assert sentence == ("FPR for sex=Female x age_cat=Less than 25 is 0.61 [0.53, 0.68] "
                        "vs 0.30 overall (threshold 0.15)")


def test_thin_groups_are_insufficient_never_pass_or_fail(compas_counts, policy):
    report = measure_bias(compas_counts, ["race"], policy)
    native = report.cells[report.cells["key"] == "race=Native American"]
    assert int(report.rows.set_index("key").at["race=Native American", "n"]) == 11
    assert set(native.loc[native["metric"].isin(policy.metrics), "status"]) == {INSUFFICIENT}
    assert native["p_value"].isna().all()
    assert report.rows.set_index("key").at["race=Native American", "status"] == INSUFFICIENT
    assert "race=Native American n=11 < minimum 30 for selection_rate" in {i.sentence() for i in report.review()}
    assert "race=Native American" not in {v.key for v in report.violations}


def test_huge_gap_in_a_thin_group_is_insufficient_not_fail():
    rows = pd.DataFrame({"g": ["a"] * 1000 + ["b"] * 10, "y": [0] * 1010, "p": [0] * 1000 + [1] * 10})
    policy = BiasPolicy(max_difference=0.1, metrics=("fpr",))
    report = measure_bias(cell_counts(rows, "y", "p", ["g"]), ["g"], policy)
    assert cell(report, "g=b", "fpr")["value"] == 1.0
    assert cell(report, "g=b", "fpr")["status"] == INSUFFICIENT
    assert report.violations == []


def test_correction_can_veto_a_nominally_significant_gap():
    # FPR 0.30 in 100 rows vs 0.20 in twelve groups of 300: raw p ~0.017, but 13 tests.
    groups, labels, predictions = [], [], []
    for name, positives, size in [("gap", 30, 100)] + [(f"same{i}", 60, 300) for i in range(12)]:
        groups += [name] * size
        labels += [0] * size
        predictions += [1] * positives + [0] * (size - positives)
    counts = cell_counts(pd.DataFrame({"g": groups, "y": labels, "p": predictions}), "y", "p", ["g"])
    policy = BiasPolicy(max_difference=0.01, min_count=30, metrics=("fpr",))
    report = measure_bias(counts, ["g"], policy)
    gap = cell(report, "g=gap", "fpr")
    assert gap["p_value"] < 0.05 < gap["p_adjusted"]
    assert gap["status"] == OK and report.violations == []
    bh = measure_bias(counts, ["g"], policy.model_copy(update={"correction": "bh"}))
    assert cell(bh, "g=gap", "fpr")["p_adjusted"] <= gap["p_adjusted"]


def test_a_gap_whose_interval_spans_zero_does_not_fail():
    rows = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40, "y": [0] * 80, "p": [1] * 14 + [0] * 26 + [1] * 6 + [0] * 34})
    report = measure_bias(cell_counts(rows, "y", "p", ["g"]), ["g"], BiasPolicy(max_difference=0.05))
    fpr = cell(report, "g=a", "fpr")
    assert abs(fpr["difference"]) > 0.05 and fpr["diff_low"] < 0 < fpr["diff_high"]
    assert fpr["status"] == OK


def test_best_group_reference(compas_counts, policy):
    report = measure_bias(compas_counts, ["age_cat"], policy.model_copy(update={"reference": "best"}))
    best = cell(report, "age_cat=Greater than 45", "fpr")
    assert best["is_reference"] and best["status"] == OK
    young = cell(report, "age_cat=Less than 25", "fpr")
    assert young["reference"] == pytest.approx(best["value"])
    assert "age_cat=Greater than 45 (best group)" in young["reference_label"]
    assert young["status"] == FAIL


def test_reaggregated_history_equals_a_single_pass(compas):
    halves = [compas.iloc[: len(compas) // 2], compas.iloc[len(compas) // 2:]]
    stacked = pd.concat([cell_counts(h, LABEL, PREDICTION, ["sex", "age_cat"]).assign(day=str(i))
                         for i, h in enumerate(halves)])
    direct = cell_counts(compas, LABEL, PREDICTION, ["sex", "age_cat"])
    assert aggregate(stacked, ["sex"]).equals(aggregate(direct, ["sex"]))
    assert aggregate(stacked, []).equals(aggregate(direct, []))


def test_nulls_and_non_binary_values():
    rows = pd.DataFrame({"g": ["a", None, "a"], "y": [1, 0, None], "p": [1, 0, 1]})
    counts = cell_counts(rows, "y", "p", ["g"])
    assert counts.attrs["excluded_rows"] == 1
    assert set(counts["g"]) == {"a", "(missing)"}
    with pytest.raises(DataError, match="'p' must be binary"):
        cell_counts(rows.assign(p=[1, 2, 0]), "y", "p", ["g"])
    with pytest.raises(DataError, match="not found: 'nope'"):
        cell_counts(rows, "nope", "p", ["g"])
