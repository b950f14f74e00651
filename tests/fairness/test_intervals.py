"""Wilson and Newcombe against published values; p-values consistent with the interval;
Holm and Benjamini-Hochberg against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from aisec_pipeline.fairness.intervals import newcombe, newcombe_p_value, wilson, z_for
from aisec_pipeline.fairness.significance import adjust, benjamini_hochberg, holm


# Newcombe (1998a), Statistics in Medicine 17:857, Table I, method 3 (score, no correction).
@pytest.mark.parametrize("k, n, low, high", [
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_matches_newcombe_table(k, n, low, high):
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


# Newcombe (1998b), Statistics in Medicine 17:873, Table II, method 10 (hybrid score).
@pytest.mark.parametrize("k1, n1, k2, n2, low, high", [
    (56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090), (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926), (0, 10, 0, 20, -0.1611, 0.2775), (10, 10, 0, 20, 0.6791, 1.0)])
def test_newcombe_matches_newcombe_table(k1, n1, k2, n2, low, high):
    lo, hi = newcombe(k1, n1, k2, n2)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_empty_group_gives_nan_not_zero():
    lo, hi = wilson(0, 0)
    assert np.isnan(lo) and np.isnan(hi)
    assert np.isnan(newcombe_p_value(0, 0, 5, 10))


def test_p_value_is_where_the_interval_touches_zero():
    p = float(newcombe_p_value(56, 70, 48, 80))
    lo, _ = newcombe(56, 70, 48, 80, z_for(1 - p))
    assert lo == pytest.approx(0.0, abs=1e-6)
    assert 0.001 < p < 0.05  # the 95% interval excludes zero, the 99.9% one does not
    assert float(newcombe_p_value(10, 100, 10, 100)) == pytest.approx(1.0)


def test_holm_worked_example():
    # p sorted: .01*4=.04, .02*3=.06, .03*2=.06 (monotone), .04*1=.04 -> .06
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])


def test_benjamini_hochberg_worked_example():
    # m=4: .01*4/1=.04, .02*4/2=.04, .03*4/3=.04, .04*4/4=.04
    assert benjamini_hochberg([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.04] * 4)
    assert benjamini_hochberg([0.001, 0.5]) == pytest.approx([0.002, 0.5])


def test_corrections_skip_untested_and_reject_unknown_method():
    adjusted = holm([0.01, np.nan, 0.04])
    assert np.isnan(adjusted[1]) and adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.04)
    with pytest.raises(ValueError):
        adjust([0.1], "bonferroni")
