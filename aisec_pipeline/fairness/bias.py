"""Bias of a classifier's evaluation data per demographic segment and declared intersection."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .counts import KEY_SEPARATOR, cell_counts, count_file
from .engine import (Rule, best_group_reference, metric_cells, overall_reference, segment_key,
                     segment_rows, segment_status, test_gaps)
from .intervals import z_for
from .report import BiasReport

if TYPE_CHECKING:  # annotations only: `aisec bias` starts without pydantic and the governance models
    from ..governance.policy import BiasPolicy
    from ..inventory.schema import Evaluation

# BiasPolicy's defaults, for a rule without a policy file (`aisec bias`); a test holds them equal.
DEFAULT_METRICS = ("selection_rate", "tpr", "fpr", "precision", "accuracy")
DEFAULT_MIN_RATIO, DEFAULT_RATIO_METRICS = 0.8, ("selection_rate",)


def rule_from_policy(policy: BiasPolicy, drift: bool = False) -> Rule:
    """Evaluation bias: difference and ratio rules, and a limit on rows left out. Drift: only
    the drift difference (predictions awaiting their outcome are normal in production)."""
    common = dict(min_count=policy.min_count, alpha=policy.alpha, metrics=policy.metrics,
                  correction=policy.correction, protected=policy.protected_segments)
    if drift:
        return Rule(threshold=policy.drift_max_difference, **common)
    return Rule(threshold=policy.max_difference, min_ratio=policy.min_ratio, ratio_metrics=policy.ratio_metrics,
                max_excluded_fraction=policy.max_excluded_fraction, **common)


def default_rule(threshold: float, min_count: int, max_excluded_fraction: float,
                 protected: Sequence[str] = ()) -> Rule:
    """The rule `rule_from_policy` gives for a BiasPolicy with these values and every default."""
    return Rule(threshold=threshold, min_count=min_count, metrics=DEFAULT_METRICS, protected=tuple(protected),
                min_ratio=DEFAULT_MIN_RATIO, ratio_metrics=DEFAULT_RATIO_METRICS,
                max_excluded_fraction=max_excluded_fraction)


def groupings_for(segments: Sequence[str], intersections: Sequence[Sequence[str]] = ()) -> list[tuple[str, ...]]:
    return [(column,) for column in segments] + [tuple(combo) for combo in intersections]


def declared_segments(evaluation: Evaluation, card_keys: Sequence[str] = ()) -> tuple[str, ...]:
    """The keys of every segment the registry entry declares (each value of each segment column)
    and the card's measured splits list: each must be in the data and judged."""
    keys = [segment_key((column,), (value,)) for column, values in evaluation.segments.items() for value in values]
    return tuple(dict.fromkeys([*keys, *card_keys]))


def card_split_keys(card: Path, evaluation: Evaluation) -> tuple[str, ...]:
    """The segments a card's "Demographic performance splits" table lists (its first cell, e.g.
    "sex=female x age_band=<25"), when every part names a declared segment column. A card that
    cannot be read lists none: the card check reports why."""
    from ..cards.parse import TABLE_ROW, parse_card, splits_section_span

    body = parse_card(card).body
    span = splits_section_span(body)
    if span is None:
        return ()
    keys = []
    for row in TABLE_ROW.finditer(body, *span):
        first = row.group(0).strip().strip("|").split("|")[0].strip()
        parts = [part.partition("=") for part in first.split(KEY_SEPARATOR)]
        if all(equals and column in evaluation.segments for column, equals, _ in parts):
            keys.append(first)
    return tuple(dict.fromkeys(keys))


def measure_bias(counts: pd.DataFrame, segments: Sequence[str], policy: BiasPolicy,
                 intersections: Sequence[Sequence[str]] = (), declared: Sequence[str] = ()) -> BiasReport:
    """Every segment and intersection against the policy's reference ("overall" or "best").
    `declared` segment keys are required: absent or below the minimum, the report is insufficient."""
    return measure_rule(counts, segments, rule_from_policy(policy), policy.reference, intersections, declared)


def measure_rule(counts: pd.DataFrame, segments: Sequence[str], rule: Rule, reference: str = "overall",
                 intersections: Sequence[Sequence[str]] = (), declared: Sequence[str] = ()) -> BiasReport:
    """`measure_bias` under a rule built without a policy."""
    z = z_for(1 - rule.alpha)
    rows = segment_rows(counts, groupings_for(segments, intersections))
    overall = metric_cells(segment_rows(counts, [()]), z)
    cells = metric_cells(rows, z)
    if reference == "overall":
        cells = overall_reference(cells, overall)
    else:
        cells = best_group_reference(cells, rule.min_count)
    cells = test_gaps(cells, rule)
    rows["status"] = segment_status(rows, cells)
    return BiasReport(rows=rows, cells=cells, overall=overall, counts=counts, rule=rule,
                      reference=reference, excluded=dict(counts.attrs.get("excluded", {})),
                      declared=tuple(declared))


def measure_frame(frame: pd.DataFrame, evaluation: Evaluation, policy: BiasPolicy,
                  card_keys: Sequence[str] = ()) -> BiasReport:
    """Count once over the evaluation rows, then measure every declared segment/intersection;
    every declared value (and segment the card's splits list) is required."""
    segments = list(evaluation.segments)
    counts = cell_counts(frame, evaluation.label, evaluation.prediction, segments)
    return measure_bias(counts, segments, policy, evaluation.intersections, declared_segments(evaluation, card_keys))


def measure_file(path: str | Path, evaluation: Evaluation, policy: BiasPolicy,
                 card_keys: Sequence[str] = ()) -> BiasReport:
    """`measure_frame` on a file read in chunks of only the needed columns (bounded memory)."""
    segments = list(evaluation.segments)
    counts = count_file(path, evaluation.label, evaluation.prediction, segments)
    return measure_bias(counts, segments, policy, evaluation.intersections, declared_segments(evaluation, card_keys))
