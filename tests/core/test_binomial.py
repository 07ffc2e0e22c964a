"""Exact binomial intervals: scipy's own Clopper-Pearson as the reference, edges, and arrays of any shape."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta, binomtest

from core.binomial import exact_interval


@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 12), (3, 10), (10, 10), (17, 400), (299_990, 300_000)])
def test_equals_scipys_clopper_pearson(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = exact_interval(k, n)
    assert (float(low), float(high)) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_equals_beta_ppf_to_the_last_bit_over_arrays_of_counts_and_trials():
    rng = np.random.default_rng(0)
    n = rng.integers(1, 10_000, 500)
    k = rng.integers(0, n + 1)
    low, high = exact_interval(k, n, alpha=0.1)
    inner = (k > 0) & (k < n)
    assert np.array_equal(low[inner], beta.ppf(0.05, k[inner], n[inner] - k[inner] + 1))
    assert np.array_equal(high[inner], beta.ppf(0.95, k[inner] + 1, n[inner] - k[inner]))


def test_edges_no_trials_none_and_all():
    low, high = exact_interval(np.array([0, 0, 5]), np.array([0, 5, 5]))
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert low[1] == 0.0 and high[1] == pytest.approx(1 - 0.025 ** (1 / 5), abs=1e-12)
    assert high[2] == 1.0 and low[2] == pytest.approx(0.025 ** (1 / 5), abs=1e-12)
