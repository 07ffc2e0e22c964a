"""Exact (Clopper-Pearson) intervals for binomial proportions, vectorised over counts.

One function for every exact interval Riskboard reports: a fairness rate whose bootstrap collapses to one point
(0 of 12 selected) and the ends of the membership audit's true- and false-positive rates, from which it certifies
epsilon. The ends are Beta quantiles, ``betaincinv(a, b, q)``: the function ``scipy.stats.beta.ppf(q, a, b)``
evaluates (equal to the last bit), imported from ``scipy.special`` because importing ``scipy.stats`` costs over a
second of each command's start-up.
"""

from __future__ import annotations

import numpy as np


def exact_interval(k, n, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided ``1 - alpha`` Clopper-Pearson bounds of ``k`` successes in ``n`` trials, elementwise.

    The low end is 0 where ``k`` is 0 and the high end 1 where ``k`` equals ``n``; both are NaN where ``n`` is 0.
    """
    from scipy.special import betaincinv

    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    tail = alpha / 2
    with np.errstate(all="ignore"):
        low = np.where(k > 0, betaincinv(np.maximum(k, 1e-9), n - k + 1, tail), 0.0)
        high = np.where(k < n, betaincinv(k + 1, np.maximum(n - k, 1e-9), 1 - tail), 1.0)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)
