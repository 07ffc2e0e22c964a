"""The empirical-epsilon bound evaluated at the ROC staircase's corners equals the bound over every threshold."""

from __future__ import annotations

import numpy as np
import pytest

from core.binomial import exact_interval
from core.privacy import _mia


def _every_threshold(members: np.ndarray, nonmembers: np.ndarray, delta: float) -> _mia.EpsilonBound:
    """The definition: intervals at every threshold, the best certified end, its estimate and upper end."""
    m, n = len(members), len(nonmembers)
    _, tp, fp = _mia._counts(members, nonmembers)
    tpr_lo, tpr_hi = exact_interval(tp, m, alpha=_mia.ALPHA)
    fpr_lo, fpr_hi = exact_interval(fp, n, alpha=_mia.ALPHA)
    tpr_c, fpr_c = (tp + 0.5) / (m + 1), (fp + 0.5) / (n + 1)
    ratio = _mia._log_ratios
    lows = [ratio(tpr_lo - delta, fpr_hi), ratio(1 - fpr_hi - delta, 1 - tpr_lo)]
    ests = [ratio(tpr_c - delta, fpr_c), ratio(1 - fpr_c - delta, 1 - tpr_c)]
    highs = [ratio(tpr_hi - delta, np.maximum(fpr_lo, 0.5 / (n + 1))),
             ratio(1 - fpr_lo - delta, np.maximum(1 - tpr_hi, 0.5 / (m + 1)))]
    d = int(lows[1].max() > lows[0].max())
    i = int(np.argmax(lows[d]))
    low, high = float(lows[d][i]), float(highs[d][i])
    return _mia.EpsilonBound(min(max(float(ests[d][i]), low), high), low, high, tp[i] / m, fp[i] / n)


@pytest.mark.parametrize("seed", range(40))
def test_corner_bound_equals_the_bound_over_every_threshold(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 200)), int(rng.integers(1, 200))
    shift = (0.0, 0.3, 1.0, 4.0, -1.0)[seed % 5]
    members, nonmembers = rng.normal(shift, 1, m), rng.normal(0, 1, n)
    if seed % 3:  # ties: scores rounded to whole numbers or tenths
        members, nonmembers = np.round(members, seed % 3 - 1), np.round(nonmembers, seed % 3 - 1)
    for delta in (0.0, 1e-5, 0.3):
        assert _mia.epsilon_lower_bound(members, nonmembers, delta=delta) == _every_threshold(members, nonmembers,
                                                                                              delta)


def test_corners_of_a_small_staircase():
    tp = np.array([1, 2, 2, 2, 3, 3])
    fp = np.array([0, 0, 1, 2, 2, 3])
    assert _mia._corners(tp, fp).tolist() == [1, 4]  # (2, 0) and (3, 2); (3, 3) has more false positives


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("strides", [(2, 1), (7, 3, 1), (64, 8, 1), (4096, 512, 64, 8, 1)])
def test_coarse_to_fine_search_finds_the_same_threshold_as_every_corner(seed, strides):
    """Corners are evaluated at a coarse stride, then finer only in gaps that could hold the best: the result
    is the very threshold (first of the best) that evaluating every corner gives, in both directions."""
    rng = np.random.default_rng(100 + seed)
    m, n = int(rng.integers(50, 3000)), int(rng.integers(50, 3000))
    shift = (0.0, 0.2, 1.0, 3.0, -0.5, -2.0)[seed % 6]
    members, nonmembers = rng.normal(shift, 1, m), rng.normal(0, 1, n)
    if seed % 4 == 1:
        members, nonmembers = np.round(members, 1), np.round(nonmembers, 1)
    _, tp, fp = _mia._counts(members, nonmembers)
    for delta in (0.0, 1e-5, 0.2):
        corners = _mia._corners(tp, fp)
        tpr_lo, _ = exact_interval(tp[corners], m, alpha=_mia.ALPHA)
        _, fpr_hi = exact_interval(fp[corners], n, alpha=_mia.ALPHA)
        lows = _mia._certified(tpr_lo, fpr_hi, delta)
        d = int(lows[1].max() > lows[0].max())
        expected = (d, int(corners[int(np.argmax(lows[d]))]), float(lows[d].max()))
        assert _mia._best_threshold(tp, fp, m, n, alpha=_mia.ALPHA, delta=delta, strides=strides) == expected


def test_coarse_to_fine_search_skips_most_corners_on_a_large_audit(monkeypatch):
    """On 200,000 rows per side the intervals are computed at a small share of the corners (the reason it exists)."""
    rng = np.random.default_rng(7)
    members, nonmembers = rng.normal(0.1, 1, 200_000), rng.normal(0, 1, 200_000)
    _, tp, fp = _mia._counts(members, nonmembers)
    sizes = []
    monkeypatch.setattr(_mia, "exact_interval", lambda k, n, alpha: sizes.append(len(k)) or exact_interval(k, n,
                                                                                                     alpha=alpha))
    _mia._best_threshold(tp, fp, len(members), len(nonmembers), alpha=_mia.ALPHA, delta=0.0)
    assert sum(sizes) < len(_mia._corners(tp, fp)) / 5
