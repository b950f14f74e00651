"""The metrics engine: rates, Wilson intervals and gap tests per segment, from counts only.

Rule for a FAILURE of one segment x metric (all must hold):
  1. both the segment's and the reference's denominators reach `min_count`
     (otherwise INSUFFICIENT_DATA: reported, routed to review, never pass and never fail);
  2. the gap is material: |difference| > threshold, or (for `ratio_metrics`) ratio < min_ratio;
  3. the Newcombe (1 - alpha) interval of the difference excludes zero;
  4. it survives the multiple-testing correction (Holm by default, or Benjamini-Hochberg)
     across all segment x metric tests of the report.

Against the "overall" reference the segment is part of the population it is compared with;
treating them as independent samples widens the interval, so the test errs conservative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .counts import COUNT_COLUMNS, KEY_SEPARATOR, DataError, aggregate
from .intervals import newcombe, newcombe_p_value, wilson, z_for
from .significance import Correction, adjust

OK, FAIL, INSUFFICIENT, REPORTED = "ok", "fail", "insufficient_data", "reported"
ALL_OUTCOMES = COUNT_COLUMNS


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    denominator_name: str  # what min_count counts, in words
    higher_is_better: bool


METRICS = (
    Metric("selection_rate", "selection rate", ("tp", "fp"), ALL_OUTCOMES, "rows", True),
    Metric("tpr", "TPR", ("tp",), ("tp", "fn"), "actual positives", True),
    Metric("fnr", "FNR", ("fn",), ("tp", "fn"), "actual positives", False),
    Metric("fpr", "FPR", ("fp",), ("fp", "tn"), "actual negatives", False),
    Metric("precision", "precision", ("tp",), ("tp", "fp"), "predicted positives", True),
    Metric("accuracy", "accuracy", ("tp", "tn"), ALL_OUTCOMES, "rows", True),
)
METRIC_BY_NAME = {m.name: m for m in METRICS}


@dataclass(frozen=True)
class Rule:
    """What counts as a material, significant gap. Built from a BiasPolicy by the callers."""

    threshold: float
    min_count: int
    alpha: float = 0.05
    min_ratio: float | None = None
    ratio_metrics: tuple[str, ...] = ()
    metrics: tuple[str, ...] = tuple(m.name for m in METRICS)
    correction: Correction = "holm"
    protected: tuple[str, ...] = ()  # segment columns or keys that must each be judged
    max_excluded_fraction: float | None = None  # rows without label/prediction; None: no limit


def texts(values, length: int | None = None, index=None) -> pd.Series:
    """Text as plain Python strings (object dtype): pandas' Arrow strings cost a conversion on
    every element access, and the per-segment views read these columns element by element.
    A scalar is repeated `length` times; `index` aligns the result with the frame it joins."""
    if length is not None:
        values = np.full(length, values, dtype=object)
    return pd.Series(np.asarray(values, dtype=object), dtype=object, index=index)


def segment_key(grouping: Sequence[str], values: Sequence[str]) -> str:
    if not grouping:
        return "overall"
    return KEY_SEPARATOR.join(f"{column}={value}" for column, value in zip(grouping, values))


def _keys(grouping: Sequence[str], labels: list[np.ndarray], length: int) -> np.ndarray:
    """`segment_key` for every row at once (object arrays concatenate element-wise)."""
    if not grouping:
        return np.full(length, segment_key((), ()), dtype=object)
    keys = f"{grouping[0]}=" + labels[0]
    for column, values in zip(grouping[1:], labels[1:]):
        keys = keys + f"{KEY_SEPARATOR}{column}=" + values
    return keys


def segment_rows(counts: pd.DataFrame, groupings: Sequence[Sequence[str]]) -> pd.DataFrame:
    """One row per segment of every grouping: grouping, segment (tuple of pairs), key, counts."""
    frames = []
    for grouping in groupings:
        table = aggregate(counts, grouping)
        labels = [np.asarray(table[c].astype(str).tolist(), dtype=object) for c in grouping]
        frames.append(pd.DataFrame({
            "grouping": [tuple(grouping)] * len(table),
            "segment": list(zip(*(zip([c] * len(table), v) for c, v in zip(grouping, labels)))) if grouping
            else [()] * len(table),
            "key": texts(_keys(grouping, labels, len(table))),
            **{c: table[c].to_numpy() for c in COUNT_COLUMNS},
        }))
    rows = pd.concat(frames, ignore_index=True)
    rows["n"] = rows[list(COUNT_COLUMNS)].sum(axis=1)
    _refuse_colliding_keys(rows)
    return rows


def _refuse_colliding_keys(rows: pd.DataFrame) -> None:
    """Two segments with one key would be reported as one: refuse, naming the columns."""
    twice = rows["key"].duplicated(keep=False).to_numpy()
    if twice.any():
        colliding = rows[twice]
        columns = sorted({c for grouping in colliding["grouping"] for c in grouping})
        raise DataError(f"segment values of column(s) {', '.join(map(repr, columns))} make the key "
                        f"{colliding['key'].iloc[0]!r} name two different segments: recode the values")


def metric_cells(rows: pd.DataFrame, z: float) -> pd.DataFrame:
    """Long table: one row per segment x metric with numerator, denominator, value, Wilson CI.
    `row` is the segment's position in `rows` and `metric_index` the metric's in METRICS, so
    per-segment views index arrays instead of searching by key or name. Metric after metric,
    built as whole arrays (one table, no concatenation)."""
    counts = {column: rows[column].to_numpy() for column in COUNT_COLUMNS}
    numerator = np.concatenate([sum(counts[c] for c in m.numerator) for m in METRICS])
    denominator = np.concatenate([sum(counts[c] for c in m.denominator) for m in METRICS])
    low, high = wilson(numerator, denominator, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)
    segments, metric_index = len(rows), np.repeat(np.arange(len(METRICS)), len(rows))
    names = np.array([m.name for m in METRICS], dtype=object)
    return pd.DataFrame({
        "row": np.tile(np.arange(segments), len(METRICS)),
        "key": texts(np.tile(rows["key"].to_numpy(dtype=object), len(METRICS))),
        "grouping": np.tile(rows["grouping"].to_numpy(dtype=object), len(METRICS)),
        "metric": texts(names[metric_index]), "metric_index": metric_index,
        "numerator": numerator, "denominator": denominator,
        "value": value, "ci_low": low, "ci_high": high,
    })


def overall_reference(cells: pd.DataFrame, overall: pd.DataFrame) -> pd.DataFrame:
    """Attach the whole population's counts as each cell's reference."""
    which = np.empty(len(METRICS), dtype=np.int64)
    which[overall["metric_index"].to_numpy()] = np.arange(len(overall))
    which = which[cells["metric_index"].to_numpy()]
    cells = cells.copy(deep=False)  # copy-on-write: new columns never reach the caller's frame
    cells["ref_numerator"] = overall["numerator"].to_numpy()[which]
    cells["ref_denominator"] = overall["denominator"].to_numpy()[which]
    cells["reference_label"] = texts("overall", len(cells), cells.index)
    return cells


def best_group_reference(cells: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Attach, per grouping and metric, the most favourable segment with enough data
    (highest selection rate, TPR, precision, accuracy; lowest FPR, FNR)."""
    cells = cells.copy(deep=False)
    for column in ("ref_numerator", "ref_denominator"):
        cells[column] = np.nan
    cells["reference_label"] = texts("no group with enough data", len(cells), cells.index)
    cells["is_reference"] = False
    eligible = cells[cells["denominator"] >= min_count]
    for (grouping, metric), group in eligible.groupby(["grouping", "metric"], sort=False):
        sign = 1.0 if METRIC_BY_NAME[metric].higher_is_better else -1.0
        best = group.loc[(sign * group["value"]).idxmax()]
        target = (cells["grouping"] == grouping) & (cells["metric"] == metric)
        cells.loc[target, "ref_numerator"] = best["numerator"]
        cells.loc[target, "ref_denominator"] = best["denominator"]
        cells.loc[target, "reference_label"] = f"for {best['key']} (best group)"
        cells.loc[target & (cells["key"] == best["key"]), "is_reference"] = True
    return cells


def test_gaps(cells: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """Differences, ratios, Newcombe intervals, corrected p-values and a status per cell."""
    cells = cells.copy(deep=False)
    if "is_reference" not in cells:
        cells["is_reference"] = False
    k1, n1 = cells["numerator"].to_numpy(float), cells["denominator"].to_numpy(float)
    k2, n2 = cells["ref_numerator"].to_numpy(float), cells["ref_denominator"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cells["reference"] = np.where(n2 > 0, k2 / n2, np.nan)
        cells["difference"] = cells["value"] - cells["reference"]
        low_high = np.minimum(cells["value"], cells["reference"]), np.maximum(cells["value"], cells["reference"])
        cells["ratio"] = np.where(low_high[1] > 0, low_high[0] / low_high[1], 1.0)
    cells["diff_low"], cells["diff_high"] = newcombe(k1, n1, k2, n2, z_for(1 - rule.alpha))
    tested_metric = cells["metric"].isin(rule.metrics).to_numpy()
    enough = (np.nan_to_num(n1) >= rule.min_count) & (np.nan_to_num(n2) >= rule.min_count)
    testable = tested_metric & enough & ~cells["is_reference"].to_numpy()
    p_values = np.full(len(cells), np.nan)
    p_values[testable] = newcombe_p_value(k1[testable], n1[testable], k2[testable], n2[testable])
    cells["p_value"] = p_values
    cells["p_adjusted"] = adjust(p_values, rule.correction)
    cells["rule"] = texts(_material_rule(cells, rule), index=cells.index)
    cells["status"] = texts(_status(cells, rule, tested_metric, enough), index=cells.index)
    return cells


def _material_rule(cells: pd.DataFrame, rule: Rule) -> np.ndarray:
    over_difference = cells["difference"].abs().to_numpy() > rule.threshold
    under_ratio = np.zeros(len(cells), dtype=bool)
    if rule.min_ratio is not None:
        under_ratio = cells["metric"].isin(rule.ratio_metrics).to_numpy() & \
            (cells["ratio"].to_numpy() < rule.min_ratio)
    rule_name = np.full(len(cells), "", dtype=object)
    rule_name[under_ratio] = "ratio"
    rule_name[over_difference] = "difference"
    return rule_name


def _status(cells: pd.DataFrame, rule: Rule, tested_metric: np.ndarray, enough: np.ndarray) -> np.ndarray:
    excludes_zero = (cells["diff_low"].to_numpy() > 0) | (cells["diff_high"].to_numpy() < 0)
    significant = excludes_zero & (np.nan_to_num(cells["p_adjusted"].to_numpy(), nan=1.0) <= rule.alpha)
    failed = (cells["rule"].to_numpy() != "") & significant
    status = np.full(len(cells), OK, dtype=object)
    status[failed] = FAIL
    status[~enough] = INSUFFICIENT
    status[~tested_metric] = REPORTED
    return status


def segment_status(rows: pd.DataFrame, cells: pd.DataFrame) -> np.ndarray:
    """fail if any tested metric fails; else insufficient_data if any lacks data; else ok."""
    position, status = cells["row"].to_numpy(dtype=np.int64), cells["status"].to_numpy()
    failed = np.bincount(position, weights=status == FAIL, minlength=len(rows)) > 0
    thin = np.bincount(position, weights=status == INSUFFICIENT, minlength=len(rows)) > 0
    return np.where(failed, FAIL, np.where(thin, INSUFFICIENT, OK)).astype(object)
