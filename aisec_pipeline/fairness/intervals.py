"""Confidence intervals for proportions and their differences, vectorised over numpy arrays.

Wilson score interval for one proportion; Newcombe's hybrid score interval (his method 10,
Statistics in Medicine 1998) for a difference of two independent proportions. Both are
computed from counts, so they work equally on a fresh evaluation and on stored history.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_BISECTION_STEPS = 60
_MAX_Z = 40.0


def z_for(confidence: float) -> float:
    """The two-sided normal quantile, e.g. 1.96 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson(successes, trials, z: float | np.ndarray = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (no continuity correction); NaN where there are no trials."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z2 = np.square(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (k + z2 / 2.0) / (n + z2)
        half = z * np.sqrt(p * (1.0 - p) * n + z2 / 4.0) / (n + z2)
    empty = n <= 0
    low = np.where(empty, np.nan, np.clip(centre - half, 0.0, 1.0))
    high = np.where(empty, np.nan, np.clip(centre + half, 0.0, 1.0))
    return low, high


def newcombe(k1, n1, k2, n2, z: float | np.ndarray = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Hybrid score interval for p1 - p2 built from the two Wilson intervals."""
    k1, n1, k2, n2 = (np.asarray(a, dtype=float) for a in (k1, n1, k2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    diff = p1 - p2
    low = diff - np.sqrt(np.square(p1 - l1) + np.square(u2 - p2))
    high = diff + np.sqrt(np.square(u1 - p1) + np.square(p2 - l2))
    return low, high


def newcombe_p_value(k1, n1, k2, n2) -> np.ndarray:
    """Two-sided p-value that matches the Newcombe interval: the smallest alpha at which the
    (1 - alpha) interval still excludes zero. Found by bisection on z, since the interval
    widens monotonically with z. NaN where either proportion is undefined.

    Deriving the p-value from the interval (rather than from a separate z-test) keeps the
    multiple-testing correction consistent with the interval shown in the report.
    """
    shape = np.broadcast(np.asarray(k1), np.asarray(n1), np.asarray(k2), np.asarray(n2)).shape
    low_z = np.zeros(shape)
    high_z = np.full(shape, _MAX_Z)
    for _ in range(_BISECTION_STEPS):
        mid = (low_z + high_z) / 2.0
        lo, hi = newcombe(k1, n1, k2, n2, mid)
        excludes_zero = (lo > 0.0) | (hi < 0.0)
        low_z = np.where(excludes_zero, mid, low_z)
        high_z = np.where(excludes_zero, high_z, mid)
    p_value = 2.0 * (1.0 - _normal_cdf(low_z))
    lo, hi = newcombe(k1, n1, k2, n2, 1.0)
    return np.where(np.isnan(lo) | np.isnan(hi), np.nan, p_value)


_erfc = np.frompyfunc(math.erfc, 1, 1)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """The standard normal CDF, as scipy's ndtr computes it (0.5 erfc(-z / sqrt 2)), from the
    standard library: the CLI starts without importing scipy."""
    return 0.5 * np.asarray(_erfc(-np.asarray(z, dtype=float) / math.sqrt(2.0)), dtype=float)
