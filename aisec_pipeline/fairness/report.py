"""`BiasReport`: the measurement as data (per-segment rows, per segment x metric cells) and
the derived views every consumer shares: violations in plain words, review items, JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from .counts import COUNT_COLUMNS
from .engine import FAIL, INSUFFICIENT, METRIC_BY_NAME, METRICS, Rule


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
        return {"segment": self.segment, "metric": self.metric, "value": _num(self.value),
                "reference": _num(self.reference), "threshold": self.threshold}


@dataclass(frozen=True)
class BiasReport:
    """rows: one per segment (grouping, segment pairs, key, tp/fp/tn/fn, n, status).
    cells: one per segment x metric (value, Wilson CI, reference, difference with Newcombe CI,
    ratio, p-values, rule, status). counts: the finest-cell counts it was derived from."""

    rows: pd.DataFrame
    cells: pd.DataFrame
    overall: pd.DataFrame
    counts: pd.DataFrame
    rule: Rule
    reference: str  # "overall", "best" or "baseline"
    kind: str = "evaluation"  # or "drift"
    excluded_rows: int = 0
    measured_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    window: str | None = None  # drift: the period measured

    @property
    def n(self) -> int:
        """Rows measured (those with a known outcome)."""
        return int(self.counts[list(COUNT_COLUMNS)].to_numpy().sum())

    @property
    def threshold_label(self) -> str:
        return "drift threshold" if self.kind == "drift" else "threshold"

    @property
    def violations(self) -> list[Violation]:
        failed = self.cells[self.cells["status"] == FAIL]
        return [self._violation(cell) for cell in failed.itertuples(index=False)]

    def _violation(self, cell) -> Violation:
        segment = dict(self.rows.set_index("key").at[cell.key, "segment"])
        threshold = self.rule.min_ratio if cell.rule == "ratio" else self.rule.threshold
        return Violation(segment, cell.key, cell.metric, cell.value, cell.ci_low, cell.ci_high,
                         cell.reference, cell.reference_label, threshold, cell.rule, cell.ratio,
                         cell.p_adjusted, self.threshold_label)

    @property
    def needs_review(self) -> list[str]:
        """Segment x metric tests that could not be run for lack of data, in words."""
        thin = self.cells[self.cells["status"] == INSUFFICIENT]
        return [self._thin_sentence(cell) for cell in thin.itertuples(index=False)]

    def _thin_sentence(self, cell) -> str:
        metric = METRIC_BY_NAME[cell.metric]
        if cell.denominator < self.rule.min_count:
            return (f"{metric.label} for {cell.key}: {int(cell.denominator)} {metric.denominator_name} "
                    f"(minimum {self.rule.min_count})")
        return (f"{metric.label} for {cell.key}: reference {cell.reference_label} has "
                f"{_count_text(cell.ref_denominator)} {metric.denominator_name} (minimum {self.rule.min_count})")

    @property
    def tests_run(self) -> int:
        return int(self.cells["p_value"].notna().sum())

    def to_json(self) -> dict[str, Any]:
        """The `aisec bias --json` shape; `verdict` is passed only when assessed without violation."""
        violations = self.violations
        passed = not violations and self.tests_run > 0
        return {
            "verdict": "passed" if passed else "failed",
            "segments": [self._segment_json(row) for row in self.rows.itertuples(index=False)],
            "violations": [v.to_dict() for v in violations],
        }

    def _segment_json(self, row) -> dict[str, Any]:
        cells = self.cells[self.cells["key"] == row.key].set_index("metric")
        metrics = {m.name: {"value": _num(cells.at[m.name, "value"]), "ci_low": _num(cells.at[m.name, "ci_low"]),
                            "ci_high": _num(cells.at[m.name, "ci_high"])} for m in METRICS}
        return {"segment": dict(row.segment), "n": int(row.n), "metrics": metrics, "status": row.status}


def _num(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def _count_text(value: float) -> str:
    return "no" if math.isnan(value) else str(int(value))
