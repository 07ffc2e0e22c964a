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

FPR_TARGETS = (0.001, 0.01)
ALPHA = 0.05
MIN_AUDIT_ROWS = 1000  # per side; below it the ceiling is under ~5.3 and TPR at 0.1% FPR is read from 0 FPs
ROC_POINTS = 200
SMALL_AUDIT = ("only {m:,} members and {n:,} non-members were audited: no attack can certify epsilon above "
               "{ceiling:.2f} here, and TPR at 0.1% FPR rests on fewer than one false positive. Treat the numbers as "
               "a rough sign, not a measurement.")


def clopper_pearson(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Exact two-sided (1 - alpha) interval for a binomial proportion k / n."""
    # scipy.stats and scikit-learn are imported where they compute: reading a stored audit needs neither
    from scipy.stats import beta

    if n <= 0:
        return 0.0, 1.0
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


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


def _cp_arrays(k: np.ndarray, n: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import beta

    k = np.asarray(k, dtype=np.float64)
    with np.errstate(all="ignore"):
        low = np.where(k == 0, 0.0, beta.ppf(alpha / 2, np.maximum(k, 1e-9), n - k + 1))
        high = np.where(k == n, 1.0, beta.ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1e-9)))
    return low, high


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
    # Both certified ends grow with the true positives and shrink with the false positives, so the best threshold
    # is a corner of the ROC staircase (the most true positives for its false positives, the fewest false positives
    # for its true positives); every other threshold is beaten by one. The interval functions, seconds on a
    # million audited rows, are evaluated at the corners only; the maximum, and so the threshold, is the same.
    corners = _corners(tp, fp)
    tpr_lo, _ = _cp_arrays(tp[corners], m, alpha)
    _, fpr_hi = _cp_arrays(fp[corners], n, alpha)
    # direction 1: members flagged (TPR vs FPR); direction 2: non-members cleared (TNR vs FNR)
    lows = [_log_ratios(tpr_lo - delta, fpr_hi), _log_ratios(1 - fpr_hi - delta, 1 - tpr_lo)]
    direction = int(lows[1].max() > lows[0].max())
    best = float(lows[direction].max())
    # no threshold certifies anything: the bound is 0 everywhere and the first threshold is reported, as before
    i = int(corners[int(np.argmax(lows[direction]))]) if best > 0 else 0
    tp_i, fp_i = tp[i:i + 1], fp[i:i + 1]
    (tpr_lo, tpr_hi), (fpr_lo, fpr_hi) = _cp_arrays(tp_i, m, alpha), _cp_arrays(fp_i, n, alpha)
    tpr_c, fpr_c = (tp_i + 0.5) / (m + 1), (fp_i + 0.5) / (n + 1)
    floor_f, floor_t = 0.5 / (n + 1), 0.5 / (m + 1)
    low = [_log_ratios(tpr_lo - delta, fpr_hi), _log_ratios(1 - fpr_hi - delta, 1 - tpr_lo)][direction]
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


def tpr_at_fpr(member_scores: np.ndarray, nonmember_scores: np.ndarray, target: float) -> float:
    """Highest TPR over thresholds whose FPR is at most ``target``."""
    _, tps, fps = _counts(np.asarray(member_scores, float), np.asarray(nonmember_scores, float))
    ok = fps / len(nonmember_scores) <= target
    return float(tps[ok].max() / len(member_scores)) if ok.any() else 0.0


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


def _roc_points(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> tuple[list[float], list[float]]:
    from sklearn.metrics import roc_curve

    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    fpr, tpr, _ = roc_curve(labels, np.r_[member_scores, nonmember_scores])
    if len(fpr) > ROC_POINTS:  # keep the low-FPR end densely: pick points evenly in log FPR
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
    """
    member_scores = np.asarray(member_scores, dtype=np.float64)
    nonmember_scores = np.asarray(nonmember_scores, dtype=np.float64)
    m, n = len(member_scores), len(nonmember_scores)
    ceiling = audit_ceiling(m, n, delta=delta)
    if m == 0 or n == 0:
        return AttackReport(attack, m, n, math.nan, {str(t): math.nan for t in FPR_TARGETS}, 0.0, (0.0, 0.0),
                            ceiling, warning=SMALL_AUDIT.format(m=m, n=n, ceiling=ceiling))
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(m), np.zeros(n)]
    auc = float(roc_auc_score(labels, np.r_[member_scores, nonmember_scores]))
    bound = epsilon_lower_bound(member_scores, nonmember_scores, delta=delta)
    fpr, tpr = _roc_points(member_scores, nonmember_scores)
    warning = SMALL_AUDIT.format(m=m, n=n, ceiling=ceiling) if min(m, n) < MIN_AUDIT_ROWS else None
    return AttackReport(attack=attack, n_members=m, n_nonmembers=n, auc=auc,
                        tpr_at_fpr={str(t): tpr_at_fpr(member_scores, nonmember_scores, t) for t in FPR_TARGETS},
                        epsilon_lower_bound=bound.ci_low, epsilon_estimate=bound.estimate,
                        epsilon_lower_bound_ci=(bound.ci_low, bound.ci_high),
                        epsilon_ceiling=ceiling, roc_fpr=fpr, roc_tpr=tpr, warning=warning)


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
