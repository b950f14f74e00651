"""Bias of a classifier's evaluation data per demographic segment and declared intersection."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..governance.policy import BiasPolicy
from ..inventory.schema import Evaluation
from .counts import cell_counts, count_file
from .engine import (Rule, best_group_reference, metric_cells, overall_reference, segment_rows,
                     segment_status, test_gaps)
from .intervals import z_for
from .report import BiasReport


def rule_from_policy(policy: BiasPolicy, drift: bool = False) -> Rule:
    """Evaluation bias: difference and ratio rules, and a limit on rows left out. Drift: only
    the drift difference (predictions awaiting their outcome are normal in production)."""
    common = dict(min_count=policy.min_count, alpha=policy.alpha, metrics=policy.metrics,
                  correction=policy.correction, protected=policy.protected_segments)
    if drift:
        return Rule(threshold=policy.drift_max_difference, **common)
    return Rule(threshold=policy.max_difference, min_ratio=policy.min_ratio, ratio_metrics=policy.ratio_metrics,
                max_excluded_fraction=policy.max_excluded_fraction, **common)


def groupings_for(segments: Sequence[str], intersections: Sequence[Sequence[str]] = ()) -> list[tuple[str, ...]]:
    return [(column,) for column in segments] + [tuple(combo) for combo in intersections]


def measure_bias(counts: pd.DataFrame, segments: Sequence[str], policy: BiasPolicy,
                 intersections: Sequence[Sequence[str]] = ()) -> BiasReport:
    """Every segment and intersection against the policy's reference ("overall" or "best")."""
    rule = rule_from_policy(policy)
    z = z_for(1 - rule.alpha)
    rows = segment_rows(counts, groupings_for(segments, intersections))
    overall = metric_cells(segment_rows(counts, [()]), z)
    cells = metric_cells(rows, z)
    if policy.reference == "overall":
        cells = overall_reference(cells, overall)
    else:
        cells = best_group_reference(cells, rule.min_count)
    cells = test_gaps(cells, rule)
    rows["status"] = segment_status(rows, cells)
    return BiasReport(rows=rows, cells=cells, overall=overall, counts=counts, rule=rule,
                      reference=policy.reference, excluded=dict(counts.attrs.get("excluded", {})))


def measure_frame(frame: pd.DataFrame, evaluation: Evaluation, policy: BiasPolicy) -> BiasReport:
    """Count once over the evaluation rows, then measure every declared segment/intersection."""
    segments = list(evaluation.segments)
    counts = cell_counts(frame, evaluation.label, evaluation.prediction, segments)
    return measure_bias(counts, segments, policy, evaluation.intersections)


def measure_file(path: str | Path, evaluation: Evaluation, policy: BiasPolicy) -> BiasReport:
    """`measure_frame` on a file read in chunks of only the needed columns (bounded memory)."""
    segments = list(evaluation.segments)
    counts = count_file(path, evaluation.label, evaluation.prediction, segments)
    return measure_bias(counts, segments, policy, evaluation.intersections)
