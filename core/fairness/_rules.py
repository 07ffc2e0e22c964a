"""Decision rules: how a score becomes a yes/no decision, possibly per group and possibly randomised.

A rule is data (JSON-ready), so a post-processing mitigation can store it with its run and every later view applies
exactly the same decisions. Deterministic thresholds use the same convention as training: positive when
``score >= threshold``. A randomised rule (fairlearn's ``ThresholdOptimizer``) picks, per row of some groups, one of
two thresholds with fixed probabilities; :meth:`DecisionRule.decide` draws that choice from a seeded generator, and
:meth:`DecisionRule.expected` gives the probability of a positive decision without drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import FairnessError

UNKNOWN_GROUP = ("The decision rule has no threshold for group {group!r}; it was fitted on other groups. Fit it "
                 "again on data that contains this group.")
BAD_THRESHOLD = "Thresholds must be numbers between 0 and 1; {group!r} has {value!r}."


@dataclass(frozen=True)
class DecisionRule:
    """``thresholds`` per group (``default`` for any group not listed, when set); ``randomised`` per group holds
    ``{"thresholds": [t0, t1], "weights": [p0, p1], "constant": c, "p_constant": q}``: with probability ``q`` the
    decision is the constant ``c``, otherwise threshold ``t_i`` with probability ``p_i`` (fairlearn's form)."""

    strategy: str
    sensitive: tuple[str, ...] = ()
    intersect: bool = False
    thresholds: dict[str, float] = field(default_factory=dict)
    default: float | None = None
    randomised: dict[str, dict] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        for group, value in [*self.thresholds.items(), ("(all groups)", self.default)]:
            if value is None and group == "(all groups)":
                continue
            if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0 + 1e-9:
                raise FairnessError(BAD_THRESHOLD.format(group=group, value=value))

    @property
    def uses_groups(self) -> bool:
        return bool(self.thresholds) or bool(self.randomised)

    def _threshold_of(self, groups: np.ndarray) -> np.ndarray:
        out = np.full(len(groups), np.nan if self.default is None else float(self.default))
        for group, value in self.thresholds.items():
            out[groups == group] = value
        missing = np.isnan(out) & ~np.isin(groups, list(self.randomised))
        if missing.any():
            raise FairnessError(UNKNOWN_GROUP.format(group=str(groups[np.flatnonzero(missing)[0]])))
        return out

    def expected(self, score: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Probability of a positive decision per row (0/1 for deterministic groups)."""
        score = np.asarray(score, dtype=np.float64)
        groups = np.asarray(groups).astype(str)
        limits = self._threshold_of(groups)
        out = np.where(np.isnan(limits), 0.0, (score >= np.nan_to_num(limits, nan=2.0)).astype(np.float64))
        for group, mix in self.randomised.items():
            rows = groups == group
            (t0, t1), (p0, p1) = mix["thresholds"], mix["weights"]
            q, c = mix.get("p_constant", 0.0), mix.get("constant", 0.0)
            s = score[rows]
            out[rows] = q * c + (1 - q) * (p0 * (s >= t0) + p1 * (s >= t1))
        return out

    def decide(self, score: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """0/1 decisions; randomised groups draw from a generator seeded with ``seed`` (reproducible)."""
        probability = self.expected(score, groups)
        if not self.randomised:
            return probability.astype(np.int64)
        draws = np.random.default_rng(self.seed).random(len(probability))
        return (draws < probability).astype(np.int64)

    def to_dict(self) -> dict:
        return {"strategy": self.strategy, "sensitive": list(self.sensitive), "intersect": self.intersect,
                "thresholds": dict(self.thresholds), "default": self.default,
                "randomised": {k: dict(v) for k, v in self.randomised.items()}, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict) -> DecisionRule:
        try:
            return cls(strategy=str(data["strategy"]), sensitive=tuple(data.get("sensitive", ())),
                       intersect=bool(data.get("intersect", False)),
                       thresholds={str(k): float(v) for k, v in data.get("thresholds", {}).items()},
                       default=None if data.get("default") is None else float(data["default"]),
                       randomised={str(k): dict(v) for k, v in data.get("randomised", {}).items()},
                       seed=int(data.get("seed", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise FairnessError(f"The stored decision rule is damaged ({exc}); create the mitigated run "
                                "again.") from None
