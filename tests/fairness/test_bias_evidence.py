"""Verdicts, the card's splits table, the chart and the JSON shape from real COMPAS counts."""

from __future__ import annotations

import base64
import io
from datetime import date

import pandas as pd
from PIL import Image

from aisec_pipeline.fairness.bias import measure_bias
from aisec_pipeline.fairness.chart import chart_png
from aisec_pipeline.fairness.counts import cell_counts
from aisec_pipeline.fairness.evidence import bias_verdict, performance_splits
from aisec_pipeline.governance.policy import BiasPolicy
from aisec_pipeline.verdict import Status


def test_violation_fails_and_thin_groups_are_listed_for_review(compas_counts, policy):
    report = measure_bias(compas_counts, ["sex", "race"], policy, [("sex", "age_cat")])
    verdict = bias_verdict(report, policy)
    assert verdict.kind == "bias_report" and verdict.status is Status.FAILED
    assert any(r.startswith("FPR for sex=Female x age_cat=Less than 25 is 0.61") for r in verdict.reasons)
    assert "too few to test: race=Native American n=5 < minimum 30 for tpr" in verdict.reasons
    assert verdict.figures["violations"] and verdict.figures["review"] and verdict.figures["outcome"] == "failed"
    png = base64.b64decode(verdict.attachments["chart_png_base64"])
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_insufficient_data_alone_does_not_fail_and_untested_is_not_passed():
    rows = pd.DataFrame({"g": ["a"] * 200 + ["b"] * 5, "y": [0, 1] * 100 + [0] * 5, "p": [0, 1] * 100 + [1] * 5})
    policy = BiasPolicy(max_difference=0.1)
    verdict = bias_verdict(measure_bias(cell_counts(rows, "y", "p", ["g"]), ["g"], policy), policy)
    assert verdict.status is Status.PASSED
    assert "too few to test: g=b n=5 < minimum 30 for fpr" in verdict.reasons
    thin = bias_verdict(measure_bias(cell_counts(rows.tail(20), "y", "p", ["g"]), ["g"], policy), policy)
    assert thin.status is Status.UNASSESSED and thin.figures["outcome"] == "insufficient"


def test_a_report_measured_under_another_policy_is_unassessed(compas_counts, policy):
    report = measure_bias(compas_counts, ["sex"], policy)
    stricter = policy.model_copy(update={"max_difference": 0.05})
    assert bias_verdict(report, stricter).status is Status.UNASSESSED


def test_performance_splits_table_is_dated_markdown(compas_counts, policy):
    report = measure_bias(compas_counts, ["race"], policy)
    table = performance_splits(report, date(2026, 3, 1))
    lines = table.splitlines()
    assert lines[0].startswith("Measured 2026-03-01")
    assert lines[4] == "| Segment | n | selection rate | TPR | FPR | precision | accuracy | Status |"
    assert lines[2] == "Rows: 6172 read, 6172 measured, none left out."
    assert "| race=Native American | 11 |" in table and "insufficient data |" in table
    assert "| overall | 6172 | 0.45 [0.43, 0.46] |" in table


def test_chart_has_one_row_per_segment(compas_counts, policy):
    report = measure_bias(compas_counts, ["sex", "age_cat"], policy)
    few = Image.open(io.BytesIO(chart_png(report, ("fpr",))))
    more = Image.open(io.BytesIO(chart_png(measure_bias(compas_counts, ["race"], policy))))  # all 5 metrics
    assert few.size[1] < more.size[1] and few.size[0] < more.size[0]  # a row per segment, a panel per metric


def test_json_shape(compas_counts, policy):
    result = measure_bias(compas_counts, ["race"], policy).to_json()
    assert set(result) == {"verdict", "rows", "tests", "min_count", "overall", "segments", "violations", "review"}
    assert result["verdict"] == "failed" and result["rows"]["read"] == result["overall"]["n"] == 6172
    segment = result["segments"][0]
    assert set(segment) == {"segment", "n", "metrics", "status"}
    assert set(segment["metrics"]["fpr"]) == {"value", "ci_low", "ci_high"}
    assert set(result["violations"][0]) == {"segment", "metric", "value", "reference", "threshold"}
