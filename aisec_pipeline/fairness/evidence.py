"""Evidence from a BiasReport: the Verdict, the card's performance-splits table, a text table."""

from __future__ import annotations

import math
from datetime import date

from ..governance.policy import BiasPolicy
from ..verdict import Status, Verdict
from .bias import rule_from_policy
from .chart import chart_base64
from .engine import METRIC_BY_NAME
from .report import BiasReport

_REVIEW_LISTED = 20  # review items spelled out in the reasons; the full list is in figures


def bias_verdict(report: BiasReport, policy: BiasPolicy | None = None) -> Verdict:
    """kind="bias_report": FAILED on a violation; UNASSESSED when nothing could be tested or
    the report was measured under another policy; PASSED otherwise. Insufficient-data
    segments are listed as needing review and never decide the status by themselves."""
    if policy is not None and report.rule != rule_from_policy(policy):
        return Verdict.unassessed("bias_report", "the report was measured under a different bias "
                                  "policy than the one in force: measure again")
    return report_verdict(report, "bias_report")


def production_verdict(report: BiasReport) -> Verdict:
    """kind="production_bias": the same decision rule applied to a drift report."""
    return report_verdict(report, "production_bias")


# Error rates say who is wrongly treated, so they lead; selection rate and accuracy follow.
_METRIC_PRIORITY = ("fpr", "fnr", "tpr", "precision", "selection_rate", "accuracy")


def _priority(violation) -> tuple:
    """Intersections first (what aggregate views hide), then error rates, then the largest gap."""
    metric = _METRIC_PRIORITY.index(violation.metric) if violation.metric in _METRIC_PRIORITY else 99
    return (-len(violation.segment), metric, -abs(violation.value - violation.reference))


def report_verdict(report: BiasReport, kind: str) -> Verdict:
    violations = sorted(report.violations, key=_priority)
    review = report.needs_review
    reasons = [v.sentence() for v in violations]
    if violations:
        status = Status.FAILED
    elif report.tests_run == 0:
        status = Status.UNASSESSED
        reasons.append(f"no segment had enough data to test (minimum {report.rule.min_count} per denominator)")
    else:
        status = Status.PASSED
        reasons.append(_passed_sentence(report))
    reasons += [f"needs review (insufficient data): {item}" for item in review[:_REVIEW_LISTED]]
    if len(review) > _REVIEW_LISTED:
        reasons.append(f"needs review: {len(review) - _REVIEW_LISTED} more, listed in figures")
    return Verdict(kind, status, tuple(reasons), _figures(report, violations, review),
                   {"chart_png_base64": chart_base64(report), "performance_splits_md": performance_splits(report)})


def _passed_sentence(report: BiasReport) -> str:
    correction = {"holm": "Holm", "bh": "Benjamini-Hochberg"}[report.rule.correction]
    return (f"no significant gap above {report.threshold_label} {report.rule.threshold:g} in "
            f"{report.tests_run} segment x metric tests ({correction}, alpha {report.rule.alpha:g})")


def _figures(report: BiasReport, violations, review) -> dict:
    return {
        "rows": report.n,
        "excluded_rows": report.excluded_rows,
        "segments": len(report.rows),
        "tests": report.tests_run,
        "violations": [v.to_dict() | {"sentence": v.sentence()} for v in violations],
        "needs_review": review,
        "threshold": report.rule.threshold,
        "min_ratio": report.rule.min_ratio,
        "min_count": report.rule.min_count,
        "alpha": report.rule.alpha,
        "correction": report.rule.correction,
        "reference": report.reference,
        "window": report.window,
        "measured_at": report.measured_at.isoformat(),
        "table": segment_records(report),
    }


def segment_records(report: BiasReport) -> list[dict]:
    """Flat per-segment records (for a Dagster table): key, n, status, tested metric values."""
    records = []
    for row in report.rows.itertuples(index=False):
        cells = report.cells[report.cells["key"] == row.key].set_index("metric")
        record = {"segment": row.key, "n": int(row.n), "status": row.status}
        for metric in report.rule.metrics:
            record[metric] = _rounded(cells.at[metric, "value"])
            record[f"{metric}_ci"] = _interval(cells.at[metric, "ci_low"], cells.at[metric, "ci_high"])
        records.append(record)
    return records


def performance_splits(report: BiasReport, measured_on: date | None = None) -> str:
    """The model card's "demographic performance splits" table (Markdown), dated."""
    measured_on = measured_on or report.measured_at.date()
    metrics = report.rule.metrics
    header = ["Segment", "n", *(METRIC_BY_NAME[m].label for m in metrics), "Status"]
    lines = [
        f"Measured {measured_on.isoformat()}; 95% Wilson intervals in brackets; gaps tested against the "
        f"{report.reference} reference (threshold {report.rule.threshold:g}, minimum "
        f"{report.rule.min_count} per denominator).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        _markdown_row("overall", report.overall, metrics, "", report.n),
    ]
    for row in report.rows.itertuples(index=False):
        cells = report.cells[report.cells["key"] == row.key]
        lines.append(_markdown_row(row.key, cells, metrics, row.status.replace("_", " "), int(row.n)))
    return "\n".join(lines) + "\n"


def _markdown_row(key: str, cells, metrics, status: str, n: int) -> str:
    indexed = cells.set_index("metric")
    values = [_value_with_interval(indexed.loc[m]) for m in metrics]
    return "| " + " | ".join([key.replace("|", "/"), str(n), *values, status]) + " |"


def text_table(report: BiasReport) -> str:
    """A readable fixed-width table for the terminal."""
    metrics = report.rule.metrics
    header = ["segment", "n", *metrics, "status"]
    body = [["overall", str(report.n),
             *(_value_with_interval(report.overall.set_index("metric").loc[m]) for m in metrics), ""]]
    for row in report.rows.itertuples(index=False):
        cells = report.cells[report.cells["key"] == row.key].set_index("metric")
        body.append([row.key, str(int(row.n)), *(_value_with_interval(cells.loc[m]) for m in metrics), row.status])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                     for line in [header, *body])


def _value_with_interval(cell) -> str:
    if math.isnan(cell["value"]):
        return "n/a"
    return f"{cell['value']:.2f} {_interval(cell['ci_low'], cell['ci_high'])}"


def _interval(low: float, high: float) -> str:
    return "" if math.isnan(low) else f"[{low:.2f}, {high:.2f}]"


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 4)
