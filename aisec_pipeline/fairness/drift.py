"""Production bias drift: the recent window against the approved baseline, per segment.

History is kept as counts (one row per day per finest cell: tp, fp, tn, fn) in a Parquet
file, so a monthly review re-aggregates any period without the raw log. Each segment x
metric of the recent window is compared with the same segment at approval using the
engine's rule: |difference| > drift_max_difference, Newcombe interval excluding zero, and
surviving the multiple-testing correction. Predictions whose outcome has not arrived yet are
left out of the counts (they have no TP/FP/TN/FN) and reported as `pending`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from ..governance.policy import BiasPolicy
from ..inventory.schema import Evaluation, Monitoring
from ..kind_names import PRODUCTION_BIAS
from ..verdict import Verdict
from .alerts import DEFAULT_REALERT, DispatchResult, Sink, alerts_from_report, dispatch, sinks_from_env
from .bias import groupings_for, rule_from_policy
from .counts import COUNT_COLUMNS, cell_counts
from .engine import metric_cells, segment_rows, segment_status, test_gaps, texts
from .evidence import production_verdict
from .intervals import z_for
from .report import BiasReport

DAY = "day"
KIND = PRODUCTION_BIAS


def daily_counts(log: pd.DataFrame, evaluation: Evaluation, timestamp: str) -> pd.DataFrame:
    """Per UTC day and finest cell: tp, fp, tn, fn. attrs["excluded_rows"] = pending outcomes."""
    days = pd.to_datetime(log[timestamp], utc=True).dt.strftime("%Y-%m-%d")
    frame = log.assign(**{DAY: days})
    return cell_counts(frame, evaluation.label, evaluation.prediction, list(evaluation.segments), keys=[DAY])


def load_counts(path: Path) -> pd.DataFrame:
    """A stored counts table (history or an approved baseline); empty if the file is absent."""
    if not path.exists():
        return pd.DataFrame(columns=[DAY, *COUNT_COLUMNS])
    return pd.read_parquet(path)


def save_counts(counts: pd.DataFrame, path: Path) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        counts.reset_index(drop=True).to_parquet(temporary, index=False)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def update_history(path: Path, new_counts: pd.DataFrame) -> pd.DataFrame:
    """Replace the days present in `new_counts` (re-reading a day is idempotent), keep the rest."""
    history = load_counts(path)
    if len(history):
        history = history[~history[DAY].isin(set(new_counts[DAY]))]
    merged = pd.concat([history, new_counts], ignore_index=True) if len(history) else new_counts.copy()
    merged = merged.sort_values(DAY, kind="stable").reset_index(drop=True)
    save_counts(merged, path)
    return merged


def window(history: pd.DataFrame, end: date, days: int) -> pd.DataFrame:
    """The counts of the `days` days ending with `end` (inclusive)."""
    first = (end - timedelta(days=days - 1)).isoformat()
    return history[(history[DAY] >= first) & (history[DAY] <= end.isoformat())]


def measure_drift(recent: pd.DataFrame, baseline: pd.DataFrame, policy: BiasPolicy, segments: Sequence[str],
                  intersections: Sequence[Sequence[str]] = (), window_label: str | None = None) -> BiasReport:
    """Each segment (and the whole population) of `recent` against the same segment of `baseline`."""
    rule = rule_from_policy(policy, drift=True)
    z = z_for(1 - rule.alpha)
    groupings = [(), *groupings_for(segments, intersections)]
    rows = segment_rows(recent, groupings)
    cells = metric_cells(rows, z)
    reference = metric_cells(segment_rows(baseline, groupings), z)[["key", "metric", "numerator", "denominator"]]
    cells = cells.merge(reference.rename(columns={"numerator": "ref_numerator", "denominator": "ref_denominator"}),
                        on=["key", "metric"], how="left")
    cells["reference_label"] = texts("at approval", len(cells), cells.index)
    cells = test_gaps(cells, rule)
    rows["status"] = segment_status(rows, cells)
    overall = cells[cells["key"] == "overall"].reset_index(drop=True)
    return BiasReport(rows=rows, cells=cells, overall=overall, counts=recent, rule=rule, reference="baseline",
                      kind="drift", excluded=dict(recent.attrs.get("excluded", {})), window=window_label)


@dataclass(frozen=True)
class MonitoringResult:
    verdict: Verdict
    report: BiasReport | None = None
    alerts: DispatchResult | None = None


def monitor_production(model: str, log: pd.DataFrame, baseline: pd.DataFrame, evaluation: Evaluation,
                       monitoring: Monitoring, policy: BiasPolicy, history_path: Path, *,
                       today: date | None = None, sinks: Sequence[Sink] | None = None,
                       alert_state: Path | None = None, realert_after: timedelta = DEFAULT_REALERT,
                       now: datetime | None = None) -> MonitoringResult:
    """Fold the log into the counts history, measure the last `window_days` days against the
    baseline, and (when `alert_state` is given) alert through `sinks` (default: from env).
    Any failure gives an UNASSESSED verdict, never an exception."""
    try:
        daily = daily_counts(log, evaluation, monitoring.timestamp)
        history = update_history(history_path, daily) if len(daily) else load_counts(history_path)
        end = today or _last_day(history)
        if end is None:
            return MonitoringResult(Verdict.unassessed(KIND, "no production predictions with outcomes yet"))
        recent = window(history, end, monitoring.window_days)
        label = f"{(end - timedelta(days=monitoring.window_days - 1)).isoformat()} to {end.isoformat()}"
        if not len(recent) or not recent[list(COUNT_COLUMNS)].to_numpy().sum():
            return MonitoringResult(Verdict.unassessed(KIND, f"no production predictions with outcomes in {label}"))
        report = measure_drift(recent, baseline, policy, list(evaluation.segments), evaluation.intersections, label)
        verdict = production_verdict(report)
        verdict = replace(verdict, figures={**verdict.figures, "pending_outcomes": daily.attrs.get("excluded_rows", 0)})
    except Exception as exc:  # noqa: BLE001 - fail closed with a reason a person can act on
        return MonitoringResult(Verdict.unassessed(KIND, f"drift monitoring failed: {type(exc).__name__}: {exc}"))
    if alert_state is None:
        return MonitoringResult(verdict, report)
    sent = dispatch(model, alerts_from_report(report, model, now), sinks_from_env() if sinks is None else sinks,
                    alert_state, now, realert_after)
    return MonitoringResult(verdict, report, sent)


def _last_day(history: pd.DataFrame) -> date | None:
    return date.fromisoformat(str(history[DAY].max())) if len(history) else None
