"""Three outcomes, never two: failed, insufficient (needs review), passed. And every row is
accounted for: rows without a label or prediction are counted per reason, shown everywhere,
and fail the verdict above the policy's limit."""

from __future__ import annotations

from datetime import date

import pytest

from aisec_pipeline.fairness.bias import measure_bias
from aisec_pipeline.fairness.counts import cell_counts
from aisec_pipeline.fairness.evidence import bias_verdict, performance_splits
from aisec_pipeline.governance.policy import BiasPolicy
from aisec_pipeline.verdict import Status

POLICY = BiasPolicy(max_difference=0.1)


def verdict_for(frame, policy=POLICY, segments=("g",)):
    report = measure_bias(cell_counts(frame, "y", "p", list(segments)), list(segments), policy)
    return report, bias_verdict(report, policy)


def test_every_segment_below_the_minimum_is_insufficient_never_passed(balanced):
    # Each group has 200 rows, so selection-rate tests run, but only 80 actual positives:
    # with a minimum of 100 no segment can be judged on TPR. The old rule passed this.
    frame = balanced({"a": 200, "b": 200})
    frame.loc[0, "p"] = None  # one row left out, within the limit
    report, verdict = verdict_for(frame, POLICY.model_copy(update={"min_count": 100, "max_excluded_fraction": 0.1}))
    assert report.tests_run > 0 and set(report.rows["status"]) == {"insufficient_data"}
    assert report.outcome == "insufficient"
    assert verdict.status is Status.UNASSESSED and verdict.figures["outcome"] == "insufficient"
    assert all(r.startswith("needs review: ") for r in verdict.reasons), verdict.reasons
    assert "needs review: g=b n=80 < minimum 100 for tpr" in verdict.reasons
    assert "needs review: left out of the counts: 0.2% of rows have no prediction (1 of 400)" in verdict.reasons
    assert {"segment": "g=b", "metric": "tpr", "n": 80, "minimum": 100} in verdict.figures["review"]
    assert all(set(item) == {"segment", "metric", "n", "minimum"} for item in verdict.figures["review"])


def test_no_rows_at_all_is_insufficient(balanced):
    report, verdict = verdict_for(balanced({"a": 100}).iloc[:0])
    assert report.n == 0 and report.outcome == "insufficient"
    assert verdict.status is Status.UNASSESSED and verdict.figures["outcome"] == "insufficient"


def test_every_row_left_out_fails_on_the_excluded_share(balanced):
    """Rows present but none usable: the excluded share (100%) is over the limit, so failed."""
    report, verdict = verdict_for(balanced({"a": 100}).assign(y=None))
    assert report.n == 0 and report.outcome == "failed"
    assert verdict.status is Status.FAILED and verdict.figures["outcome"] == "failed"


def test_a_thin_unprotected_segment_is_listed_but_does_not_block(balanced):
    report, verdict = verdict_for(balanced({"a": 500, "b": 500, "c": 10}))
    assert verdict.status is Status.PASSED and verdict.figures["outcome"] == "passed"
    assert "too few to test: g=c n=4 < minimum 30 for tpr" in verdict.reasons
    assert not any(r.startswith("needs review: ") for r in verdict.reasons)


# The segments each protection sends to review: exactly these, nothing weaker.
REVIEWED = {("g",): {"g=c"}, ("g=c",): {"g=c"}, ("race",): {"race", "g=c"}}


@pytest.mark.parametrize("protected, outcome", [
    (("g",), "insufficient"),      # a column: every one of its segments must be judged
    (("g=c",), "insufficient"),    # one segment by key
    (("g=a",), "passed"),          # a protected segment with enough rows
    (("race",), "insufficient"),   # a protected column the report does not measure at all
])
def test_a_protected_segment_below_the_minimum_makes_the_report_insufficient(balanced, protected, outcome):
    policy = POLICY.model_copy(update={"protected_segments": protected})
    report, verdict = verdict_for(balanced({"a": 500, "b": 500, "c": 10}), policy)
    assert report.outcome == outcome and verdict.figures["outcome"] == outcome
    if outcome == "insufficient":
        assert verdict.status is Status.UNASSESSED
        assert verdict.reasons[0].startswith("needs review: ")
        assert {item["segment"] for item in verdict.figures["review"]} == REVIEWED[protected]


def test_a_violation_outranks_insufficient_data(balanced):
    frame = balanced({"a": 500, "b": 500, "c": 10})
    frame.loc[frame["g"] == "b", "p"] = 1  # b is always predicted positive
    policy = POLICY.model_copy(update={"protected_segments": ("g=c",)})
    report, verdict = verdict_for(frame, policy)
    assert verdict.status is Status.FAILED and verdict.figures["outcome"] == "failed"


def with_missing_labels(balanced, rows: int, missing: int):
    frame = balanced({"a": rows // 2, "b": rows // 2})
    frame.loc[frame.index[:missing], "y"] = None
    return frame


def test_rows_without_a_label_above_the_limit_fail_the_verdict_and_are_shown_everywhere(balanced):
    report, verdict = verdict_for(with_missing_labels(balanced, 2000, 100))
    assert report.n == 1900 and report.rows_read == 2000 and report.excluded == {"no label": 100}
    assert verdict.status is Status.FAILED and verdict.figures["outcome"] == "failed"
    assert verdict.reasons[0] == "5.0% of rows have no label (100 of 2000); limit 1.0% of rows"
    assert verdict.figures["excluded"] == {"no label": 100} and verdict.figures["rows_read"] == 2000
    assert report.to_json()["rows"] == {"read": 2000, "measured": 1900, "excluded": {"no label": 100},
                                        "excluded_fraction": 0.05, "max_excluded_fraction": 0.01}
    splits = performance_splits(report, date(2026, 3, 1))
    assert "Rows: 2000 read, 1900 measured; left out of the counts: 5.0% of rows have no label" in splits
    assert "left out" in verdict.figures.get("splits_markdown", verdict.attachments["performance_splits_md"])


def test_rows_left_out_within_the_limit_are_reported_not_failed(balanced):
    policy = POLICY.model_copy(update={"max_excluded_fraction": 0.10})
    report, verdict = verdict_for(with_missing_labels(balanced, 2000, 100), policy)
    assert verdict.status is Status.PASSED
    assert "left out of the counts: 5.0% of rows have no label (100 of 2000)" in verdict.reasons


def test_each_reason_for_leaving_a_row_out_is_counted_apart(balanced):
    frame = balanced({"a": 1000})
    frame.loc[0:4, "y"] = None
    frame.loc[3:9, "p"] = None
    counts = cell_counts(frame, "y", "p", ["g"])
    assert counts.attrs["excluded"] == {"no label": 3, "no label and no prediction": 2, "no prediction": 5}
    assert counts.attrs["excluded_rows"] == 10 and int(counts[["tp", "fp", "tn", "fn"]].sum().sum()) == 990
