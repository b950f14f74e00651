"""Evidence from a BiasReport: the Verdict, the card's performance-splits table, a text table.

Each view is bounded: a report with 100,000 segments still gives a short verdict, card table
and terminal summary (worst segments first, then counts); the JSON holds every segment."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from ..kind_names import BIAS_REPORT, PRODUCTION_BIAS
from ..verdict import Status, Verdict
from .bias import rule_from_policy
from .engine import METRIC_BY_NAME, METRICS
from .report import FAILED, INSUFFICIENT_OUTCOME, PASSED, BiasReport

if TYPE_CHECKING:  # the CLI's terminal views start without pydantic or the chart's imports
    from ..governance.policy import BiasPolicy

# How much each view spells out; the JSON always holds everything.
LISTED = 20  # violations and review items in the reasons
TEXT_ROWS = 25  # segments in the terminal table
SPLITS_ROWS = 60  # segments in the model card's splits table
FIGURE_ROWS = 200  # records in verdict figures (Dagster metadata)


def bias_verdict(report: BiasReport, policy: BiasPolicy | None = None) -> Verdict:
    """kind="bias_report": FAILED on a violation or too many rows left out; UNASSESSED with
    "needs review: ..." when the report is insufficient to judge (figures["outcome"] says
    which) or was measured under another policy; PASSED otherwise."""
    if policy is not None and report.rule != rule_from_policy(policy):
        return Verdict.unassessed(BIAS_REPORT, "the report was measured under a different bias "
                                  "policy than the one in force: measure again")
    return report_verdict(report, BIAS_REPORT)


def production_verdict(report: BiasReport) -> Verdict:
    """kind="production_bias": the same decision rule applied to a drift report."""
    return report_verdict(report, PRODUCTION_BIAS)


# Error rates say who is wrongly treated, so they lead; selection rate and accuracy follow.
_METRIC_PRIORITY = ("fpr", "fnr", "tpr", "precision", "selection_rate", "accuracy")
_STATUS = {PASSED: Status.PASSED, FAILED: Status.FAILED, INSUFFICIENT_OUTCOME: Status.UNASSESSED}


def _priority(violation) -> tuple:
    """Intersections first (what aggregate views hide), then error rates, then the largest gap."""
    metric = _METRIC_PRIORITY.index(violation.metric) if violation.metric in _METRIC_PRIORITY else 99
    return (-len(violation.segment), metric, -abs(violation.value - violation.reference), violation.key)


def ranked_violations(report: BiasReport) -> list:
    return sorted(report.violations, key=_priority)


def report_verdict(report: BiasReport, kind: str) -> Verdict:
    violations = ranked_violations(report)
    outcome = report.outcome
    reasons = _exclusion_reasons(report) if report.too_many_excluded else []
    reasons += [v.sentence() for v in violations[:LISTED]]
    if len(violations) > LISTED:
        reasons.append(f"{len(violations) - LISTED} more violation(s), listed in figures")
    if outcome == INSUFFICIENT_OUTCOME:
        reasons.append(f"needs review: {report.insufficient_reason()}")
        reasons += _review_reasons(report, "needs review: ")
    elif outcome == PASSED:
        reasons.append(_passed_sentence(report))
    if outcome != INSUFFICIENT_OUTCOME:
        reasons += _review_reasons(report, "too few to test: ")
    if report.excluded and not report.too_many_excluded:
        prefix = "needs review: " if outcome == INSUFFICIENT_OUTCOME else ""  # every reason, for the committee
        reasons += [f"{prefix}left out of the counts: {sentence}" for sentence in report.exclusion_sentences()]
    from .chart import chart_base64

    return Verdict(kind, _STATUS[outcome], tuple(reasons), _figures(report, violations),
                   {"chart_png_base64": chart_base64(report), "performance_splits_md": performance_splits(report)})


def _exclusion_reasons(report: BiasReport) -> list[str]:
    limit = f"limit {100 * report.rule.max_excluded_fraction:.1f}% of rows"
    return [f"{sentence}; {limit}" for sentence in report.exclusion_sentences()]


def _review_reasons(report: BiasReport, prefix: str) -> list[str]:
    total = report.review_total
    reasons = [f"{prefix}{item.sentence()}" for item in report.review(LISTED)]
    if total > LISTED:
        reasons.append(f"{prefix}{total - LISTED} more test(s) below the minimum, listed in figures")
    return reasons


def _passed_sentence(report: BiasReport) -> str:
    correction = {"holm": "Holm", "bh": "Benjamini-Hochberg"}[report.rule.correction]
    return (f"no significant gap above {report.threshold_label} {report.rule.threshold:g} in "
            f"{report.tests_run} segment x metric tests ({correction}, alpha {report.rule.alpha:g})")


def _figures(report: BiasReport, violations) -> dict:
    return {
        "outcome": report.outcome,
        "rows": report.n,
        "rows_read": report.rows_read,
        "excluded_rows": report.excluded_rows,
        "excluded": dict(report.excluded),
        "excluded_fraction": round(report.excluded_fraction, 6),
        "max_excluded_fraction": report.rule.max_excluded_fraction,
        "segments": len(report.segment_rows),
        "segment_status": report.status_counts(),
        "tests": report.tests_run,
        "violations": [v.to_dict() | {"sentence": v.sentence()} for v in violations[:FIGURE_ROWS]],
        "violations_total": len(violations),
        "worst_gap": worst_gap(report),
        "review": [item.to_dict() for item in report.review(FIGURE_ROWS)],
        "review_total": report.review_total,
        "protected_segments": list(report.rule.protected),
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


def worst_gap(report: BiasReport) -> dict | None:
    """The largest tested difference from the reference, with its Newcombe interval."""
    tested = report.cells[report.cells["p_value"].notna()]
    if tested.empty:
        return None
    cell = tested.iloc[int(np.nanargmax(tested["difference"].abs().to_numpy()))]
    return {"segment": cell["key"], "metric": cell["metric"], "difference": _rounded(cell["difference"]),
            "ci_low": _rounded(cell["diff_low"]), "ci_high": _rounded(cell["diff_high"])}


def shown_rows(report: BiasReport, limit: int) -> tuple[np.ndarray, int]:
    """Row positions to show within `limit`: all in their natural order when they fit, else
    the worst first. Also how many were left out."""
    if len(report.rows) <= limit:
        return np.arange(len(report.rows)), 0
    return report.worst_first()[:limit], len(report.rows) - limit


def segment_records(report: BiasReport, limit: int = FIGURE_ROWS) -> list[dict]:
    """Flat per-segment records (for a Dagster table): key, n, status, tested metric values."""
    positions, _ = shown_rows(report, limit)
    index = [i for i, m in enumerate(METRICS) if m.name in report.rule.metrics]
    value, low, high = (report.per_segment(c) for c in ("value", "ci_low", "ci_high"))
    keys, ns, statuses = report.rows["key"].to_numpy(), report.rows["n"].to_numpy(), report.rows["status"].to_numpy()
    records = []
    for i in positions:
        record = {"segment": keys[i], "n": int(ns[i]), "status": statuses[i]}
        for j in index:
            name = METRICS[j].name
            record[name] = _rounded(value[i, j])
            record[f"{name}_ci"] = _interval(low[i, j], high[i, j])
        records.append(record)
    return records


def performance_splits(report: BiasReport, measured_on: date | None = None) -> str:
    """The model card's "demographic performance splits" table (Markdown), dated, with the rows
    left out of the counts. Large reports show the worst segments and count the rest."""
    measured_on = measured_on or report.measured_at.date()
    metrics = report.rule.metrics
    header = ["Segment", "n", *(METRIC_BY_NAME[m].label for m in metrics), "Status"]
    positions, hidden = shown_rows(report, SPLITS_ROWS)
    lines = [
        f"Measured {measured_on.isoformat()}; 95% Wilson intervals in brackets; gaps tested against the "
        f"{report.reference} reference (threshold {report.rule.threshold:g}, minimum "
        f"{report.rule.min_count} per denominator).",
        "",
        _rows_accounted(report),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        _markdown_row("overall", _overall_values(report), str(report.n), ""),
    ]
    for i in positions:
        lines.append(_markdown_row(report.rows["key"].iat[i], _row_values(report, i), str(int(report.rows["n"].iat[i])),
                                   report.rows["status"].iat[i].replace("_", " ")))
    if hidden:
        lines += ["", f"{hidden} more segments not shown ({_status_text(report)} in all); "
                      "every segment is in the bias report's JSON."]
    return "\n".join(lines) + "\n"


def _rows_accounted(report: BiasReport) -> str:
    text = f"Rows: {report.rows_read} read, {report.n} measured"
    if not report.excluded:
        return text + ", none left out."
    return text + "; left out of the counts: " + "; ".join(report.exclusion_sentences()) + "."


def _status_text(report: BiasReport) -> str:
    return ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in report.status_counts().items())


def _markdown_row(key: str, values: list[str], n: str, status: str) -> str:
    return "| " + " | ".join([key.replace("|", "/"), n, *values, status]) + " |"


def _overall_values(report: BiasReport) -> list[str]:
    indexed = report.overall.set_index("metric")
    return [_value_with_interval(indexed.at[m, "value"], indexed.at[m, "ci_low"], indexed.at[m, "ci_high"])
            for m in report.rule.metrics]


def _row_values(report: BiasReport, position: int) -> list[str]:
    value, low, high = (report.per_segment(c)[position] for c in ("value", "ci_low", "ci_high"))
    index = {m.name: j for j, m in enumerate(METRICS)}
    return [_value_with_interval(value[index[m]], low[index[m]], high[index[m]]) for m in report.rule.metrics]


def text_table(report: BiasReport, limit: int = TEXT_ROWS) -> str:
    """A readable fixed-width table for the terminal: the overall row, then the worst
    segments first, then how many more there are (all of them are in the JSON)."""
    metrics = report.rule.metrics
    header = ["segment", "n", *metrics, "status"]
    body = [["overall", str(report.n), *_overall_values(report), ""]]
    positions = report.worst_first()[:limit]
    for i in positions:
        body.append([report.rows["key"].iat[i], str(int(report.rows["n"].iat[i])), *_row_values(report, i),
                     report.rows["status"].iat[i]])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in [header, *body]]
    hidden = len(report.rows) - len(positions)
    if hidden:
        lines.append(f"... {hidden} more segments (worst shown first; every segment is in --json)")
    return "\n".join(lines)


def _value_with_interval(value: float, low: float, high: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.2f} {_interval(low, high)}"


def _interval(low: float, high: float) -> str:
    return "" if math.isnan(low) else f"[{low:.2f}, {high:.2f}]"


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 4)
