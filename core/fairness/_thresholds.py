"""Threshold what-ifs: one threshold, a cost ratio, manual per-group thresholds, and per-group thresholds that
equalise selection rates, true positive rates, both error rates, or accuracy.

Constraint-optimal rules come from fairlearn's ``ThresholdOptimizer`` (prefit on the scores, fixed
``random_state``); its decisions are randomised between two thresholds for some groups, so beside it we offer the
nearest deterministic per-group thresholds, found by a direct search over each group's distinct scores. Every
choice is scored the same way: accuracy (and cost) paid against one threshold for all, and the disparities that
result with their bootstrap intervals. The intervals treat the thresholds as fixed; they are fitted on the same rows,
so the constraint is met exactly there and only approximately on new data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin

from core.errors import FairnessError
from core.fairness._report import FairnessReport, audit_groups
from core.fairness._rules import DecisionRule

CONSTRAINTS = {"demographic_parity": "demographic_parity", "equal_opportunity": "true_positive_rate_parity",
               "equalized_odds": "equalized_odds", "equal_accuracy": None}
STRATEGIES = ("single", "cost", "manual", *CONSTRAINTS)
TOLERANCE = 0.02  # deterministic rules meet their constraint within this on the fitting data, where it is possible
GROUP_CAVEAT = ("Group-specific thresholds need the sensitive attribute at decision time, and treating groups "
                "differently on purpose may be unlawful in some domains (for example credit in some jurisdictions); "
                "check with counsel before using them.")
RANDOMISED_NOTE = ("fairlearn's ThresholdOptimizer randomises the decision between two thresholds for some groups "
                   "(the same score can get different decisions); the deterministic thresholds beside it never do, "
                   "at the price of meeting the constraint less exactly.")
DETERMINISTIC_NOTE = ("Deterministic per-group thresholds: they meet the constraint within {tol:g} on these rows "
                      "where the scores allow it (one threshold per group cannot equalise two rates at once, so for "
                      "equalized odds they only come close).")
UNKNOWN_STRATEGY = "Unknown threshold strategy {name!r}; pick one of: {choices}."
BAD_COST = "Costs of false positives and false negatives must be positive numbers; got {fp!r} and {fn!r}."
NO_SCORES = ("This run has decisions but no scores, so thresholds cannot be moved; import a score column "
             "(probability of the positive class) to use the threshold tool.")


@dataclass(frozen=True)
class ThresholdOutcome:
    """A rule, what it decides on the fitting rows, what it costs and the disparities it leaves."""

    rule: DecisionRule
    decisions: np.ndarray
    accuracy: float
    baseline_accuracy: float
    cost: float
    report: FairnessReport
    expected_gaps: dict[str, float]
    notes: tuple[str, ...] = ()

    @property
    def accuracy_paid(self) -> float:
        return self.baseline_accuracy - self.accuracy


class _ScoreModel(ClassifierMixin, BaseEstimator):
    """A fitted 'model' whose single input column is the score itself, so ThresholdOptimizer can run prefit."""

    def fit(self, X, y):  # pragma: no cover - prefit, never called
        return self

    def predict_proba(self, X):
        s = np.asarray(X, dtype=np.float64)[:, 0]
        return np.column_stack([1 - s, s])

    def predict(self, X):
        return (np.asarray(X, dtype=np.float64)[:, 0] >= 0.5).astype(np.int64)

    def __sklearn_is_fitted__(self) -> bool:
        return True


def _candidates(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (descending, last one above every score) with the TP and FP counts of ``s >= t``."""
    distinct = np.unique(s)[::-1]
    order = np.argsort(-s, kind="stable")
    sorted_s, sorted_y = s[order], y[order]
    ends = np.searchsorted(-sorted_s, -distinct, side="right")
    tp = np.concatenate([[0], np.cumsum(sorted_y)[ends - 1]])
    fp = np.concatenate([[0], ends - tp[1:]])
    thresholds = np.concatenate([[np.nextafter(1.0, 2.0)], distinct])
    return thresholds, tp, fp


def _per_group(y, score, groups):
    names = sorted(np.unique(groups).tolist())
    out = {}
    for name in names:
        rows = groups == name
        t, tp, fp = _candidates(y[rows], score[rows])
        pos = int(y[rows].sum())
        out[name] = {"t": t, "tp": tp, "fp": fp, "n": int(rows.sum()), "pos": pos, "neg": int(rows.sum()) - pos}
    return out


def _rate(c: dict, kind: str) -> np.ndarray:
    if kind == "selection_rate":
        return (c["tp"] + c["fp"]) / c["n"]
    if kind == "tpr":
        return c["tp"] / max(c["pos"], 1)
    if kind == "fpr":
        return c["fp"] / max(c["neg"], 1)
    return (c["tp"] + c["neg"] - c["fp"]) / c["n"]  # accuracy


def _parity_search(cands: dict, kind: str) -> dict[str, float]:
    """Per-group thresholds making ``kind`` (selection rate or TPR) equal, with the best total accuracy.

    For each target rate on a fine grid every group takes the threshold whose rate is nearest; among targets whose
    spread is within the tolerance the most accurate one wins (or the smallest spread, when none is).
    """
    targets = np.linspace(0, 1, 401)
    best, best_key = None, None
    for r in targets:
        picks = {g: int(np.argmin(np.abs(_rate(c, kind) - r))) for g, c in cands.items()}
        achieved = [_rate(c, kind)[picks[g]] for g, c in cands.items()]
        spread = max(achieved) - min(achieved)
        correct = sum(c["tp"][picks[g]] + c["neg"] - c["fp"][picks[g]] for g, c in cands.items())
        key = (spread > TOLERANCE, spread if spread > TOLERANCE else 0.0, -correct)
        if best_key is None or key < best_key:
            best, best_key = picks, key
    return {g: float(cands[g]["t"][j]) for g, j in best.items()}


def _equal_accuracy(cands: dict) -> dict[str, float]:
    """Each group's threshold whose accuracy is nearest the highest level every group can reach."""
    level = min(float(_rate(c, "accuracy").max()) for c in cands.values())
    return {g: float(c["t"][int(np.argmin(np.abs(_rate(c, "accuracy") - level)))]) for g, c in cands.items()}


def _optimizer_rule(y, score, groups, constraint: str, seed: int, sensitive: tuple[str, ...]) -> DecisionRule:
    optimizer = ThresholdOptimizer(estimator=_ScoreModel(), constraints=CONSTRAINTS[constraint], prefit=True,
                                   predict_method="predict_proba")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimizer.fit(score.reshape(-1, 1), y, sensitive_features=groups)
    mixes = {}
    for group, part in optimizer.interpolated_thresholder_.interpolation_dict.items():
        # fairlearn decides 'score > t'; the next float up gives the same decisions under our 'score >= t'
        t0 = float(np.clip(np.nextafter(part["operation0"]._threshold, np.inf), 0.0, np.nextafter(1.0, 2.0)))
        t1 = float(np.clip(np.nextafter(part["operation1"]._threshold, np.inf), 0.0, np.nextafter(1.0, 2.0)))
        mixes[str(group)] = {"thresholds": [t0, t1], "weights": [float(part["p0"]), float(part["p1"])],
                             "p_constant": float(part.get("p_ignore", 0.0)),
                             "constant": float(part.get("prediction_constant", 0.0))}
    return DecisionRule(strategy=f"{constraint} (randomised)", sensitive=sensitive, randomised=mixes, seed=seed)


def _nearest_deterministic(rule: DecisionRule, constraint: str) -> DecisionRule:
    """For each group the threshold that carries the larger share of the randomised rule."""
    thresholds = {}
    for group, mix in rule.randomised.items():
        (t0, t1), (p0, p1) = mix["thresholds"], mix["weights"]
        thresholds[group] = min(t0 if p0 >= p1 else t1, 1.0)
    return DecisionRule(strategy=f"{constraint} (deterministic)", sensitive=rule.sensitive, thresholds=thresholds)


def _gaps(y, expected, groups) -> dict[str, float]:
    """Disparities of the expected decisions (exact for randomised rules, no drawing noise)."""
    rates = {k: [] for k in ("selection_rate", "tpr", "fpr", "accuracy")}
    for name in np.unique(groups):
        rows = groups == name
        e, t = expected[rows], y[rows]
        rates["selection_rate"].append(e.mean())
        rates["tpr"].append(e[t == 1].mean() if (t == 1).any() else np.nan)
        rates["fpr"].append(e[t == 0].mean() if (t == 0).any() else np.nan)
        rates["accuracy"].append(np.mean(np.where(t == 1, e, 1 - e)))
    spread = {k: float(np.nanmax(v) - np.nanmin(v)) for k, v in rates.items()}
    return {"demographic_parity_difference": spread["selection_rate"],
            "equal_opportunity_difference": spread["tpr"],
            "equalized_odds_difference": max(spread["tpr"], spread["fpr"]),
            "accuracy_difference": spread["accuracy"]}


def evaluate_rule(rule: DecisionRule, y_true, score, groups, *, baseline: float = 0.5, fp_cost: float = 1.0,
                  fn_cost: float = 1.0, resamples: int | None = None, seed: int = 0,
                  notes: tuple[str, ...] = ()) -> ThresholdOutcome:
    """Apply ``rule`` and measure it: accuracy, accuracy paid against one ``baseline`` threshold, cost per row,
    disparities with intervals (of the drawn decisions) and exact expected gaps."""
    y = np.asarray(y_true).astype(np.int64)
    s = np.asarray(score, dtype=np.float64)
    g = np.asarray(groups).astype(str)
    decisions = rule.decide(s, g)
    expected = rule.expected(s, g)
    accuracy = float(np.mean(np.where(y == 1, expected, 1 - expected)))
    base = float(np.mean((s >= baseline).astype(np.int64) == y))
    cost = float(np.mean(np.where(y == 1, fn_cost * (1 - expected), fp_cost * expected)))
    report = audit_groups(y, decisions, g, score=s, resamples=resamples, seed=seed,
                          slicing=" × ".join(rule.sensitive))
    if rule.uses_groups:
        notes = (*notes, GROUP_CAVEAT)
    return ThresholdOutcome(rule=rule, decisions=decisions, accuracy=accuracy, baseline_accuracy=base, cost=cost,
                            report=report, expected_gaps=_gaps(y, expected, g), notes=notes)


def cost_threshold(y_true, score, *, fp_cost: float, fn_cost: float) -> float:
    """The single threshold that minimises ``fp_cost * FP + fn_cost * FN`` on these rows."""
    if not (fp_cost > 0 and fn_cost > 0):
        raise FairnessError(BAD_COST.format(fp=fp_cost, fn=fn_cost))
    y = np.asarray(y_true).astype(np.int64)
    t, tp, fp = _candidates(y, np.asarray(score, dtype=np.float64))
    fn = y.sum() - tp
    return float(min(t[int(np.argmin(fp_cost * fp + fn_cost * fn))], 1.0))


def fit_thresholds(strategy: str, y_true, score, groups, *, threshold: float = 0.5,
                   manual: dict[str, float] | None = None, fp_cost: float = 1.0, fn_cost: float = 1.0,
                   sensitive: tuple[str, ...] = (), seed: int = 0, resamples: int | None = None,
                   baseline: float = 0.5) -> list[ThresholdOutcome]:
    """Fit one strategy on these rows and measure it; constraint strategies return the randomised
    ``ThresholdOptimizer`` rule first and the nearest deterministic thresholds second (equal accuracy, which
    fairlearn does not offer, is deterministic only)."""
    if strategy not in STRATEGIES:
        raise FairnessError(UNKNOWN_STRATEGY.format(name=strategy, choices=", ".join(STRATEGIES)))
    if score is None:
        raise FairnessError(NO_SCORES)
    y = np.asarray(y_true).astype(np.int64)
    s = np.asarray(score, dtype=np.float64)
    g = np.asarray(groups).astype(str)
    common = {"baseline": baseline, "fp_cost": fp_cost, "fn_cost": fn_cost, "resamples": resamples, "seed": seed}
    if strategy == "single":
        rules = [DecisionRule(strategy="single", sensitive=sensitive, default=float(threshold))]
    elif strategy == "cost":
        best = cost_threshold(y, s, fp_cost=fp_cost, fn_cost=fn_cost)
        rules = [DecisionRule(strategy=f"cost {fp_cost:g}:{fn_cost:g}", sensitive=sensitive, default=best)]
    elif strategy == "manual":
        rules = [DecisionRule(strategy="manual", sensitive=sensitive,
                              thresholds={str(k): float(v) for k, v in (manual or {}).items()},
                              default=float(threshold))]
    elif strategy == "equal_accuracy":
        rules = [DecisionRule(strategy="equal_accuracy (deterministic)", sensitive=sensitive,
                              thresholds=_equal_accuracy(_per_group(y, s, g)))]
    else:
        randomised = _optimizer_rule(y, s, g, strategy, seed, sensitive)
        if strategy == "equalized_odds":
            deterministic = _nearest_deterministic(randomised, strategy)
        else:
            kind = "selection_rate" if strategy == "demographic_parity" else "tpr"
            deterministic = DecisionRule(strategy=f"{strategy} (deterministic)", sensitive=sensitive,
                                         thresholds=_parity_search(_per_group(y, s, g), kind))
        return [evaluate_rule(randomised, y, s, g, notes=(RANDOMISED_NOTE,), **common),
                evaluate_rule(deterministic, y, s, g, notes=(DETERMINISTIC_NOTE.format(tol=TOLERANCE),), **common)]
    notes = (DETERMINISTIC_NOTE.format(tol=TOLERANCE),) if strategy == "equal_accuracy" else ()
    return [evaluate_rule(rule, y, s, g, notes=notes, **common) for rule in rules]
