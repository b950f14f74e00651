"""`BiasReport`: the measurement as data (per-segment rows, per segment x metric cells) and
the derived views every consumer shares: the outcome, violations in plain words, the review
list, the rows left out, JSON.

Three outcomes, never two:
  failed        a significant, material gap, or more rows left out than the policy allows;
  insufficient  too few tests to judge: every segment below the minimum count, a required
                segment (one the registry or card declares, or the policy protects) absent or
                below it, or no test at all. It needs a person: never a pass;
  passed        otherwise.
Every per-segment view is built in one pass over the cells, indexed by the segment's row
position: output time grows linearly with the number of segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .counts import COUNT_COLUMNS, label_value
from .engine import FAIL, INSUFFICIENT, METRIC_BY_NAME, METRICS, OK, Rule, texts

PASSED, FAILED, INSUFFICIENT_OUTCOME = "passed", "failed", "insufficient"


@dataclass(frozen=True)
class Violation:
    segment: dict[str, str]
    key: str
    metric: str
    value: float
    ci_low: float
    ci_high: float
    reference: float
    reference_label: str
    threshold: float
    rule: str  # "difference" or "ratio"
    ratio: float
    p_adjusted: float
    threshold_label: str = "threshold"

    def sentence(self) -> str:
        label = METRIC_BY_NAME[self.metric].label
        text = (f"{label} for {self.key} is {self.value:.2f} [{self.ci_low:.2f}, {self.ci_high:.2f}] "
                f"vs {self.reference:.2f} {self.reference_label}")
        if self.rule == "ratio":
            return f"{text}: ratio {self.ratio:.3f} below {self.threshold:g}"
        return f"{text} ({self.threshold_label} {self.threshold:g})"

    def to_dict(self) -> dict[str, Any]:
        return {"segment": segment_json(self.segment.items()), "metric": self.metric, "value": _num(self.value),
                "reference": _num(self.reference), "threshold": self.threshold}


@dataclass(frozen=True)
class ReviewItem:
    """One segment x metric test that could not be run: too few rows in its denominator."""

    segment: str  # the segment key, e.g. "sex=Other"
    metric: str
    n: int
    minimum: int
    protected: bool = False
    reference: str | None = None  # set when it is the reference, not the segment, that is thin

    def sentence(self) -> str:
        whose = f" ({self.reference})" if self.reference else ""
        return f"{self.segment}{whose} n={self.n} < minimum {self.minimum} for {self.metric}"

    def to_dict(self) -> dict[str, Any]:
        item = {"segment": self.segment, "metric": self.metric, "n": self.n, "minimum": self.minimum}
        return item | ({"reference": self.reference} if self.reference else {})


@dataclass(frozen=True)
class BiasReport:
    """rows: one per segment (grouping, segment pairs, key, tp/fp/tn/fn, n, status).
    cells: one per segment x metric (row position, value, Wilson CI, reference, difference with
    Newcombe CI, ratio, p-values, rule, status). counts: the finest-cell counts it was derived
    from. excluded: rows left out of the counts, per reason ("no label", ...)."""

    rows: pd.DataFrame
    cells: pd.DataFrame
    overall: pd.DataFrame
    counts: pd.DataFrame
    rule: Rule
    reference: str  # "overall", "best" or "baseline"
    kind: str = "evaluation"  # or "drift"
    excluded: dict[str, int] = field(default_factory=dict)
    measured_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    window: str | None = None  # drift: the period measured
    # Segment keys the registry entry or the card declares ("age_band=<25"): each must be in the
    # data and judged on every metric, like a protected segment, or the report is insufficient.
    declared: tuple[str, ...] = ()

    # --- rows accounted for ---------------------------------------------------------------------

    @property
    def n(self) -> int:
        """Rows measured (those with a known label and prediction)."""
        return int(self.counts[list(COUNT_COLUMNS)].to_numpy().sum())

    @property
    def excluded_rows(self) -> int:
        return sum(self.excluded.values())

    @property
    def rows_read(self) -> int:
        return self.n + self.excluded_rows

    @property
    def excluded_fraction(self) -> float:
        return self.excluded_rows / self.rows_read if self.rows_read else 0.0

    @property
    def too_many_excluded(self) -> bool:
        limit = self.rule.max_excluded_fraction
        return limit is not None and self.excluded_fraction > limit

    def exclusion_sentences(self) -> list[str]:
        """E.g. "5.0% of rows have no label (100 of 2000)", one per reason, largest first."""
        return [f"{_percent(count / self.rows_read)} of rows have {reason} ({count} of {self.rows_read})"
                for reason, count in sorted(self.excluded.items(), key=lambda item: (-item[1], item[0]))]

    # --- tests, violations, review --------------------------------------------------------------

    @property
    def threshold_label(self) -> str:
        return "drift threshold" if self.kind == "drift" else "threshold"

    @property
    def tests_run(self) -> int:
        return int(self.cells["p_value"].notna().sum())

    @cached_property
    def violations(self) -> list[Violation]:
        failed = self.cells[self.cells["status"] == FAIL]
        return [self._violation(cell) for cell in failed.itertuples(index=False)]

    def _violation(self, cell) -> Violation:
        segment = dict(self.rows["segment"].iat[cell.row])
        threshold = self.rule.min_ratio if cell.rule == "ratio" else self.rule.threshold
        return Violation(segment, cell.key, cell.metric, cell.value, cell.ci_low, cell.ci_high,
                         cell.reference, cell.reference_label, threshold, cell.rule, cell.ratio,
                         cell.p_adjusted, self.threshold_label)

    @cached_property
    def protected_rows(self) -> np.ndarray:
        """Which rows must be judged: every segment of a column the policy protects, a key it
        protects, or a key the registry or card declares."""
        named = set(self.rule.protected) | set(self.declared)
        if not named:
            return np.zeros(len(self.rows), dtype=bool)
        return np.array([key in named or (len(grouping) == 1 and grouping[0] in named)
                         for key, grouping in zip(self.rows["key"].tolist(), self.rows["grouping"].tolist())],
                        dtype=bool)

    @cached_property
    def _review_order(self) -> dict[str, np.ndarray]:
        """Every test that could not be run for lack of data, as arrays in review order:
        protected segments first, then the thinnest, then the report's own order of segments and
        metrics. `cell` indexes `cells`; `own` says the segment (not the reference) is thin."""
        cell = np.flatnonzero(self.cells["status"].to_numpy() == INSUFFICIENT)
        denominator = self.cells["denominator"].to_numpy(dtype=float)[cell]
        own = denominator < self.rule.min_count
        reference_n = np.nan_to_num(self.cells["ref_denominator"].to_numpy(dtype=float)[cell])
        n = np.where(own, denominator, reference_n).astype(np.int64)
        position = self.cells["row"].to_numpy(dtype=np.int64)[cell]
        protected = self.protected_rows[position]
        order = np.lexsort((self.cells["metric_index"].to_numpy()[cell], position, n, ~protected))
        return {"cell": cell[order], "n": n[order], "own": own[order], "protected": protected[order]}

    @property
    def review_total(self) -> int:
        """How many review items there are (without building them)."""
        return len(self._review_order["cell"]) + len(self.absent_required()) * len(self.rule.metrics)

    def _review_frame(self, limit: int | None = None) -> pd.DataFrame:
        order = {name: values[:limit] for name, values in self._review_order.items()}
        cells = self.cells
        reference = np.full(len(order["cell"]), None, dtype=object)
        thin_reference = ~order["own"]
        reference[thin_reference] = "reference " + cells["reference_label"].to_numpy(dtype=object)[
            order["cell"][thin_reference]]
        return pd.DataFrame({  # text as object columns: pandas' Arrow strings cost a conversion each
            "segment": texts(cells["key"].to_numpy(dtype=object)[order["cell"]]),
            "metric": texts(cells["metric"].to_numpy(dtype=object)[order["cell"]]),
            "n": order["n"],
            "minimum": self.rule.min_count,
            "protected": order["protected"],
            "reference": texts(reference),
        })

    def review_head(self, limit: int | None = None) -> pd.DataFrame:
        """The first `limit` rows of `review_table` (all when None), building only those."""
        absent = pd.DataFrame(self._unmeasured_protected())  # listed first: a required segment with no rows
        if limit is not None and len(absent) >= limit:
            return absent.head(limit)
        rest = None if limit is None else limit - len(absent)
        table = self._review_frame(rest)
        return pd.concat([absent, table], ignore_index=True) if len(absent) else table

    @cached_property
    def review_table(self) -> pd.DataFrame:
        """Every test that could not be run for lack of data (segment, metric, n, minimum,
        protected, reference): protected segments first, then the thinnest. `reference` names
        the reference when it, not the segment, is the thin side. Protected segments the report
        does not hold at all are listed with n=0."""
        return self.review_head(None)

    def review(self, limit: int | None = None) -> list[ReviewItem]:
        """The first `limit` review items (all when None), as objects with a sentence."""
        table = self.review_table if limit is None else self.review_head(limit)
        return [ReviewItem(segment, metric, int(n), int(minimum), bool(protected), reference)
                for segment, metric, n, minimum, protected, reference in table.itertuples(index=False)]

    def review_json(self) -> list[dict[str, Any]]:
        table = self.review_table
        return [{"segment": s, "metric": m, "n": int(n), "minimum": int(k)} | ({"reference": r} if r else {})
                for s, m, n, k, r in zip(table["segment"].tolist(), table["metric"].tolist(), table["n"].tolist(),
                                         table["minimum"].tolist(), table["reference"].tolist())]

    def _unmeasured_protected(self) -> list[dict[str, Any]]:
        return [{"segment": name, "metric": metric, "n": 0, "minimum": self.rule.min_count, "protected": True,
                 "reference": None} for name in self.absent_required() for metric in self.rule.metrics]

    def absent_required(self) -> list[str]:
        """Required segments (declared or protected) the data holds no row of."""
        return list(self._absent_required)

    @cached_property
    def _absent_required(self) -> tuple[str, ...]:
        named = dict.fromkeys([*self.declared, *self.rule.protected])
        if not named:
            return ()
        columns = {c for grouping in set(self.rows["grouping"].tolist()) for c in grouping}
        keys = set(self.rows["key"].tolist())
        return tuple(name for name in named if name not in keys and name not in columns)

    # --- the outcome ----------------------------------------------------------------------------

    @property
    def segment_rows(self) -> pd.DataFrame:
        """The rows that are segments (drift reports also hold the overall row)."""
        return self.rows[self.rows["key"] != "overall"]

    def insufficient_reason(self) -> str | None:
        """Why the report cannot judge the model, or None when it can."""
        minimum = f"minimum {self.rule.min_count} per denominator"
        statuses = self.segment_rows["status"]
        if not len(statuses):
            return f"no segment to judge ({self.n} rows measured)"
        if (statuses == INSUFFICIENT).all():
            return f"every segment ({len(statuses)}) has a test below the {minimum}"
        if self.tests_run == 0:
            return f"no segment x metric test could be run ({minimum})"
        absent = self.absent_required()
        if absent:
            return f"declared or protected segment(s) absent from the data: {_listed(absent)}"
        order = self._review_order
        keys = self.cells["key"].to_numpy(dtype=object)[order["cell"][order["protected"]]]
        required = sorted(set(keys.tolist()))
        if required:
            return f"declared or protected segment(s) below the {minimum}: {_listed(required)}"
        return None

    @cached_property
    def outcome(self) -> str:
        if self.violations or self.too_many_excluded:
            return FAILED
        return INSUFFICIENT_OUTCOME if self.insufficient_reason() else PASSED

    # --- per-segment views, built once -----------------------------------------------------------

    def per_segment(self, column: str) -> np.ndarray:
        """A (segments x METRICS) array of one cell column, indexed by row position."""
        return self._wide[column]

    @cached_property
    def _wide(self) -> dict[str, np.ndarray]:
        metric = self.cells["metric_index"].to_numpy(dtype=np.int64)
        position = self.cells["row"].to_numpy(dtype=np.int64)
        wide = {}
        for column in ("value", "ci_low", "ci_high", "difference", "status"):
            dtype = object if column == "status" else float
            array = np.full((len(self.rows), len(METRICS)), None if dtype is object else np.nan, dtype=dtype)
            array[position, metric] = self.cells[column].to_numpy()
            wide[column] = array
        return wide

    def worst_first(self) -> np.ndarray:
        """Row positions: failing segments first, then the largest gap on a test that ran (a
        gap measured on too few rows is noise, so it does not rank), then the most rows, then
        the key (a repeatable order)."""
        status = self.per_segment("status")
        ran = (status == OK) | (status == FAIL)
        gap = np.where(ran, np.abs(np.nan_to_num(self.per_segment("difference"), nan=0.0)), 0.0).max(axis=1, initial=0.0)
        failing = (self.rows["status"].to_numpy() == FAIL)
        return np.lexsort((self.rows["key"].to_numpy(dtype=str), -self.rows["n"].to_numpy(), -gap, ~failing))

    def status_counts(self) -> dict[str, int]:
        counts = self.segment_rows["status"].value_counts()
        return {status: int(counts.get(status, 0)) for status in (FAIL, INSUFFICIENT, OK)}

    # --- JSON -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The `aisec bias --json` shape: everything, every segment."""
        return {
            "verdict": self.outcome,
            "rows": {"read": self.rows_read, "measured": self.n, "excluded": dict(self.excluded),
                     "excluded_fraction": round(self.excluded_fraction, 6),
                     "max_excluded_fraction": self.rule.max_excluded_fraction},
            "tests": self.tests_run,
            "min_count": self.rule.min_count,
            "overall": {"n": self.n, "metrics": _metrics_json(self.overall.set_index("metric"))},
            "segments": self._segments_json(),
            "violations": [v.to_dict() for v in self.violations],
            "review": self.review_json(),
        }

    def _segments_json(self) -> list[dict[str, Any]]:
        names = [m.name for m in METRICS]
        value, low, high = (self.per_segment(c) for c in ("value", "ci_low", "ci_high"))
        per_metric = [[{"value": v, "ci_low": lo, "ci_high": hi} for v, lo, hi in
                       zip(_nullable(value[:, j]), _nullable(low[:, j]), _nullable(high[:, j]))]
                      for j in range(len(names))]  # metric by metric: flat lists, no per-segment indexing
        return [{"segment": segment_json(segment), "n": n, "metrics": dict(zip(names, metrics)), "status": status}
                for segment, n, status, metrics in zip(self.rows["segment"].tolist(), self.rows["n"].tolist(),
                                                       self.rows["status"].tolist(), zip(*per_metric))]


def segment_json(pairs) -> dict[str, str | None]:
    """A segment's column -> value mapping as JSON: null for a missing value."""
    return {column: label_value(label) for column, label in pairs}


def _metrics_json(indexed: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    return {m.name: {"value": _num(indexed.at[m.name, "value"]), "ci_low": _num(indexed.at[m.name, "ci_low"]),
                     "ci_high": _num(indexed.at[m.name, "ci_high"])} for m in METRICS}


def _nullable(array: np.ndarray) -> list:
    rounded = np.round(array.astype(float), 6)
    return np.where(np.isnan(rounded), None, rounded).tolist()


def _num(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def _listed(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"
