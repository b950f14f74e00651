"""Multiple-testing corrections across every segment x metric test of one report.

Holm (the default) controls the family-wise error rate: the chance of even one false
"biased" finding across all tests stays below alpha. Benjamini-Hochberg controls the false
discovery rate instead: more findings, a known share of which may be false. NaN p-values
(tests that were not run) are ignored and stay NaN.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Correction = Literal["holm", "bh"]


def holm(p_values) -> np.ndarray:
    """Holm step-down adjusted p-values."""
    return _adjust(p_values, _holm_sorted)


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values."""
    return _adjust(p_values, _bh_sorted)


def adjust(p_values, method: Correction) -> np.ndarray:
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    raise ValueError(f"unknown correction {method!r}: use 'holm' or 'bh'")


def _holm_sorted(sorted_p: np.ndarray) -> np.ndarray:
    m = len(sorted_p)
    scaled = (m - np.arange(m)) * sorted_p
    return np.minimum(np.maximum.accumulate(scaled), 1.0)


def _bh_sorted(sorted_p: np.ndarray) -> np.ndarray:
    m = len(sorted_p)
    scaled = m * sorted_p / np.arange(1, m + 1)
    return np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)


def _adjust(p_values, sorted_rule) -> np.ndarray:
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    if tested.size:
        order = tested[np.argsort(p[tested], kind="stable")]
        adjusted[order] = sorted_rule(p[order])
    return adjusted
