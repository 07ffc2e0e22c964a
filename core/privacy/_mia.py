"""Membership-inference statistics: attack scores, ROC, TPR at low FPR, and what they certify about epsilon.

An attack gives each audited row a score (higher = "was a training member"). From the scores of ``m`` members and
``n`` non-members at a threshold we get TPR and FPR. Differential privacy promises, for every attack and threshold,
``TPR <= e^eps * FPR + delta`` and ``1 - FPR <= e^eps * (1 - TPR) + delta`` (Kairouz et al. 2015), so

    eps >= max(log((TPR - delta) / FPR), log((1 - FPR - delta) / (1 - TPR)))

To *certify* a lower bound at 95% we use Clopper-Pearson intervals (two-sided, 95% each end) on TPR and FPR and take
the pessimistic ends (Jagielski et al. 2020; Nasr et al. 2021). A finite audit has a **ceiling**: even a perfect
attack (all members above, all non-members below) only certifies ``log(TPR_low / FPR_high)`` with
``TPR_low = (alpha/2)^(1/m)`` and ``FPR_high = 1 - (alpha/2)^(1/n)``; 4,885 rows per side give about 7.19. An
audit below an accountant's epsilon that is also near its ceiling says nothing either way.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.binomial import exact_interval
from core.data.schema import rank_auc

FPR_TARGETS = (0.001, 0.01)
ALPHA = 0.05
MIN_AUDIT_ROWS = 1000  # per side; below it the ceiling is under ~5.3 and TPR at 0.1% FPR is read from 0 FPs
ROC_POINTS = 200
SMALL_AUDIT = ("only {m:,} members and {n:,} non-members were audited: no attack can certify epsilon above "
               "{ceiling:.2f} here, and TPR at 0.1% FPR rests on fewer than one false positive. Treat the numbers as "
               "a rough sign, not a measurement.")


def clopper_pearson(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Exact two-sided (1 - alpha) interval for a binomial proportion k / n."""
    if n <= 0:
        return 0.0, 1.0
    low, high = exact_interval(np.array([k]), n, alpha=alpha)
    return float(low[0]), float(high[0])


def audit_ceiling(n_members: int, n_nonmembers: int, alpha: float = ALPHA, delta: float = 0.0) -> float:
    """The largest epsilon lower bound any attack could certify with these sample sizes (perfect separation)."""
    tpr_low, _ = clopper_pearson(n_members, n_members, alpha)
    _, fpr_high = clopper_pearson(0, n_nonmembers, alpha)
    return _log_ratio(tpr_low - delta, fpr_high)


def _log_ratio(num: float, den: float) -> float:
    if num <= 0 or den <= 0:
        return 0.0 if num <= 0 else math.inf
    return max(0.0, math.log(num / den))


def _counts(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, true positives, false positives) for 'score >= threshold' at every distinct score."""
    scores = np.concatenate([member_scores, nonmember_scores])
    labels = np.concatenate([np.ones(len(member_scores), bool), np.zeros(len(nonmember_scores), bool)])
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    tp, fp = np.cumsum(labels), np.cumsum(~labels)
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), len(scores) - 1]  # end of each tie block
    return scores[last], tp[last], fp[last]


@dataclass(frozen=True)
class EpsilonBound:
    """Empirical epsilon at the best threshold: the point estimate, and its 95% Clopper-Pearson interval whose low
    end ``ci_low`` is the certified lower bound (what :class:`AttackReport` reports as ``epsilon_lower_bound``)."""

    estimate: float
    ci_low: float
    ci_high: float
    tpr: float
    fpr: float


def _log_ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = np.log(np.asarray(num, float) / np.asarray(den, float))
    out = np.where(np.asarray(num) <= 0, 0.0, out)
    return np.maximum(0.0, out)


def epsilon_lower_bound(member_scores: np.ndarray, nonmember_scores: np.ndarray, *, delta: float = 0.0,
                        alpha: float = ALPHA) -> EpsilonBound:
    """Best certified bound over thresholds (and both directions), with the interval at that threshold.

    The threshold is the one that maximises the certified (low) end, as in Jagielski et al. 2020; it is picked on
    the audited rows themselves, so small audits read slightly optimistic (the page says so). The point estimate
    uses half a count of continuity correction, and the interval's upper end floors the FPR at half a false
    positive, so both stay finite when an attack makes no false positive.
    """
    m, n = len(member_scores), len(nonmember_scores)
    if m == 0 or n == 0:
        return EpsilonBound(0.0, 0.0, 0.0, 0.0, 0.0)
    _, tp, fp = _counts(np.asarray(member_scores, float), np.asarray(nonmember_scores, float))
    return _bound(tp, fp, m, n, delta=delta, alpha=alpha)


def _bound(tp: np.ndarray, fp: np.ndarray, m: int, n: int, *, delta: float, alpha: float) -> EpsilonBound:
    """:func:`epsilon_lower_bound` from the ROC staircase of ``m`` members and ``n`` non-members."""
    direction, i, best = _best_threshold(tp, fp, m, n, alpha=alpha, delta=delta)
    if best <= 0:  # no threshold certifies anything: the bound is 0 everywhere and the first threshold is reported
        i = 0
    tp_i, fp_i = tp[i:i + 1], fp[i:i + 1]
    (tpr_lo, tpr_hi), (fpr_lo, fpr_hi) = exact_interval(tp_i, m, alpha=alpha), exact_interval(fp_i, n, alpha=alpha)
    tpr_c, fpr_c = (tp_i + 0.5) / (m + 1), (fp_i + 0.5) / (n + 1)
    floor_f, floor_t = 0.5 / (n + 1), 0.5 / (m + 1)
    low = _certified(tpr_lo, fpr_hi, delta)[direction]
    est = [_log_ratios(tpr_c - delta, fpr_c), _log_ratios(1 - fpr_c - delta, 1 - tpr_c)][direction]
    high = [_log_ratios(tpr_hi - delta, np.maximum(fpr_lo, floor_f)),
            _log_ratios(1 - fpr_lo - delta, np.maximum(1 - tpr_hi, floor_t))][direction]
    low, est, high = float(low[0]), float(est[0]), float(high[0])
    est = min(max(est, low), high)
    return EpsilonBound(est, low, high, float(tp[i] / m), float(fp[i] / n))


def _corners(tp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Positions of the thresholds that are the last with their false-positive count and the first with their
    true-positive count (``tp`` and ``fp`` are non-decreasing along the thresholds)."""
    last_of_fp = np.r_[fp[1:] != fp[:-1], True]
    first_of_tp = np.r_[True, tp[1:] != tp[:-1]]
    return np.flatnonzero(last_of_fp & first_of_tp)


def _certified(tpr_lo: np.ndarray, fpr_hi: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """The certified epsilon in each direction: members flagged (TPR vs FPR), non-members cleared (TNR vs FNR).
    Both grow with ``tpr_lo`` and shrink with ``fpr_hi``."""
    return _log_ratios(tpr_lo - delta, fpr_hi), _log_ratios(1 - fpr_hi - delta, 1 - tpr_lo)


def _best_threshold(tp: np.ndarray, fp: np.ndarray, m: int, n: int, *, alpha: float, delta: float,
                    strides: tuple[int, ...] = (4096, 512, 64, 8, 1)) -> tuple[int, int, float]:
    """``(direction, threshold position, certified epsilon)`` of the best threshold: the first with the largest
    certified end, in the direction whose largest end is larger (the members' direction on a tie).

    Both certified ends grow with the true positives and shrink with the false positives, so the best threshold is
    a corner of the ROC staircase (:func:`_corners`); every other threshold is beaten by one. On a million audited
    rows there are still some 10^5 corners and the Clopper-Pearson ends (``beta.ppf``) take seconds, so they are
    evaluated coarse to fine: first at every ``strides[0]``-th corner, then, at each finer stride, only inside the
    gaps that could hold a better corner. Along the corners both counts grow, so no corner inside a gap can beat
    the pair (true positives of the gap's right end, false positives of its left end); a gap is refined when that
    pair beats the best value found, or equals it before the first corner that attains it. The last stride is 1,
    so the maximum, and the first corner that attains it, are those over every corner.
    """
    corners = _corners(tp, fp)
    last = len(corners) - 1
    known = np.unique(np.r_[np.arange(0, last + 1, strides[0]), last])
    tpr_lo, _ = exact_interval(tp[corners[known]], m, alpha=alpha)
    _, fpr_hi = exact_interval(fp[corners[known]], n, alpha=alpha)
    for stride in strides[1:]:
        lows = _certified(tpr_lo, fpr_hi, delta)
        reach = _certified(tpr_lo[1:], fpr_hi[:-1], delta)  # the most a corner strictly inside each gap can reach
        worth = np.zeros(len(known) - 1, dtype=bool)
        for low, most in zip(lows, reach, strict=True):
            first = int(np.argmax(low))
            worth |= (most > low[first]) | ((most == low[first]) & (np.arange(len(most)) < first))
        gaps = np.flatnonzero(worth & (np.diff(known) > 1))
        if len(gaps) == 0:
            break
        added = np.concatenate([np.arange(known[j] + stride, known[j + 1], stride) for j in gaps])
        added = added[~np.isin(added, known)]
        add_lo, _ = exact_interval(tp[corners[added]], m, alpha=alpha)
        _, add_hi = exact_interval(fp[corners[added]], n, alpha=alpha)
        order = np.argsort(np.r_[known, added], kind="stable")
        known = np.r_[known, added][order]
        tpr_lo, fpr_hi = np.r_[tpr_lo, add_lo][order], np.r_[fpr_hi, add_hi][order]
    lows = _certified(tpr_lo, fpr_hi, delta)
    direction = int(lows[1].max() > lows[0].max())
    at = int(np.argmax(lows[direction]))
    return direction, int(corners[known[at]]), float(lows[direction][at])


def tpr_at_fpr(member_scores: np.ndarray, nonmember_scores: np.ndarray, target: float) -> float:
    """Highest TPR over thresholds whose FPR is at most ``target``."""
    _, tps, fps = _counts(np.asarray(member_scores, float), np.asarray(nonmember_scores, float))
    return _tpr_at(tps, fps, len(member_scores), len(nonmember_scores), target)


def _tpr_at(tp: np.ndarray, fp: np.ndarray, m: int, n: int, target: float) -> float:
    ok = fp / n <= target
    return float(tp[ok].max() / m) if ok.any() else 0.0


@dataclass
class AttackReport:
    """One attack's result on one set of members and non-members (the whole audit or one group)."""

    attack: str
    n_members: int
    n_nonmembers: int
    auc: float
    tpr_at_fpr: dict[str, float]
    epsilon_lower_bound: float  # certified at 95%: the low end of the interval
    epsilon_lower_bound_ci: tuple[float, float]
    epsilon_ceiling: float
    epsilon_estimate: float = 0.0  # point estimate at the same threshold (continuity-corrected)
    roc_fpr: list[float] = field(default_factory=list)
    roc_tpr: list[float] = field(default_factory=list)
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["epsilon_lower_bound_ci"] = list(self.epsilon_lower_bound_ci)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttackReport:
        values = dict(data)
        values["epsilon_lower_bound_ci"] = tuple(values["epsilon_lower_bound_ci"])
        return cls(**values)


def _roc_points(tp: np.ndarray, fp: np.ndarray, m: int, n: int) -> tuple[list[float], list[float]]:
    """The ROC from its staircase (``(0, 0)`` first, then one point per distinct score), at most about
    :data:`ROC_POINTS` points: evenly spaced in log FPR, so the low-FPR end the audit is read at stays dense."""
    fpr, tpr = np.r_[0.0, fp / n], np.r_[0.0, tp / m]
    if len(fpr) > ROC_POINTS:
        grid = np.unique(np.r_[0, np.geomspace(max(fpr[fpr > 0].min(), 1e-6), 1, ROC_POINTS)])
        keep = np.unique(np.searchsorted(fpr, grid, side="right") - 1)
        fpr, tpr = fpr[keep], tpr[keep]
    return fpr.tolist(), tpr.tolist()


def attack_report(attack: str, member_scores: np.ndarray, nonmember_scores: np.ndarray, *,
                  delta: float = 0.0) -> AttackReport:
    """AUC, TPR at 0.1% and 1% FPR, the ROC, the empirical epsilon bound and the audit's ceiling.

    ``epsilon_lower_bound`` is the certified value (95%): with probability at least 0.95 the model's true epsilon is
    at least this, and it can never exceed ``epsilon_ceiling``. ``epsilon_lower_bound_ci`` is the interval at the
    chosen threshold; its upper end and ``epsilon_estimate`` show what the attack suggests, not what it proves.
    All of them are read from one sort of the scores (the ROC staircase).
    """
    member_scores = np.asarray(member_scores, dtype=np.float64)
    nonmember_scores = np.asarray(nonmember_scores, dtype=np.float64)
    m, n = len(member_scores), len(nonmember_scores)
    ceiling = audit_ceiling(m, n, delta=delta)
    if m == 0 or n == 0:
        return AttackReport(attack, m, n, math.nan, {str(t): math.nan for t in FPR_TARGETS}, 0.0, (0.0, 0.0),
                            ceiling, warning=SMALL_AUDIT.format(m=m, n=n, ceiling=ceiling))
    _, tp, fp = _counts(member_scores, nonmember_scores)
    bound = _bound(tp, fp, m, n, delta=delta, alpha=ALPHA)
    fpr, tpr = _roc_points(tp, fp, m, n)
    warning = SMALL_AUDIT.format(m=m, n=n, ceiling=ceiling) if min(m, n) < MIN_AUDIT_ROWS else None
    return AttackReport(attack=attack, n_members=m, n_nonmembers=n, auc=attack_auc(member_scores, nonmember_scores),
                        tpr_at_fpr={str(t): _tpr_at(tp, fp, m, n, t) for t in FPR_TARGETS},
                        epsilon_lower_bound=bound.ci_low, epsilon_estimate=bound.estimate,
                        epsilon_lower_bound_ci=(bound.ci_low, bound.ci_high),
                        epsilon_ceiling=ceiling, roc_fpr=fpr, roc_tpr=tpr, warning=warning)


def attack_auc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    """The attack's ROC AUC (ties count one half, as scikit-learn's); NaN when either side is empty."""
    auc = rank_auc(np.r_[member_scores, nonmember_scores],
                   np.r_[np.ones(len(member_scores), bool), np.zeros(len(nonmember_scores), bool)])
    return math.nan if auc is None else auc


def true_label_confidence(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Probability the model gives each row's true class, clipped away from 0 and 1."""
    return np.clip(proba[np.arange(len(y)), y], 1e-12, 1 - 1e-12)


def loss_scores(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Loss-threshold attack (Yeom et al. 2018): members have lower loss, so the score is minus the loss."""
    return np.log(true_label_confidence(proba, y))


def lira_offline_scores(target_proba: np.ndarray, reference_probas: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Offline LiRA (Carlini et al. 2022) with K reference models that never saw the audited rows.

    Each row's logit-scaled confidence ``phi = log(p / (1 - p))`` under the reference ("out") models gives its own
    expected value; the score is how far above that the target model's phi lies, in units of a global standard
    deviation (the paper's fixed-variance variant, more stable with few references). Rows that are hard for every
    model (noisy labels, outliers) no longer look like non-members just for being hard, which is what lifts TPR
    at low FPR over the loss attack.
    """
    from scipy.stats import norm

    def logit(p: np.ndarray) -> np.ndarray:
        return np.log(p) - np.log1p(-p)

    phi_target = logit(true_label_confidence(target_proba, y))
    phi_refs = np.stack([logit(true_label_confidence(p, y)) for p in reference_probas])
    mu = phi_refs.mean(axis=0)
    sigma = float(phi_refs.std(axis=0, ddof=1).mean()) if len(reference_probas) > 1 else float(phi_refs.std())
    sigma = max(sigma, 1e-3)
    # log-probability of phi_target under the "out" Gaussian's upper tail, negated: higher = more member-like
    return -norm.logsf(phi_target, loc=mu, scale=sigma)
