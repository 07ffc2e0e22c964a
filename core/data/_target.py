"""Guess which column a table was collected to predict, from evidence that holds across tables, and say why.

A wrong default target is worse than none: it trains a model on the wrong question and every later page inherits
it. The guess weighs kinds of evidence that generalise instead of matching a list of file-specific names:

- the name: words that denote an outcome (``target``, ``label``, ``class``, ``outcome``, ``y``...), nouns of
  results (``churn``, ``default``, ``fraud``, ``status``, ``income``...), and past participles or ``is_``/``has_``
  flags (``approved``, ``survived``, ``is_fraud``) that describe something that happened to the row;
- the class count: two classes is the common case, a handful is plausible, dozens are unlikely, and a continuous
  column cannot be a class label at all;
- position: tables are usually laid out features first, outcome last (or first, after an identifier);
- relation to other columns: names that suggest a protected attribute (``sex``, ``race``) describe whom to audit,
  not what to predict, and a mostly-missing column is rarely the outcome anyone collected.

The result is a guess with its reasons, for the page to show as a guess to confirm, never as a fact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

STRONG_WORDS = frozenset({"target", "label", "labels", "class", "outcome", "outcomes", "result", "response", "y",
                          "decision", "verdict"})
OUTCOME_NOUNS = frozenset({"churn", "default", "fraud", "attrition", "diagnosis", "approval", "status", "risk",
                           "income", "salary", "survival", "death", "readmission", "exit", "conversion", "purchase",
                           "subscription", "deposit", "admission", "dropout", "failure", "success"})
FLAG_PREFIXES = frozenset({"is", "has", "was", "will", "did", "had"})
# "-ed" words that describe a row rather than something that happened to it
NOT_OUTCOMES = frozenset({"married", "employed", "unemployed", "educated", "used", "need", "seed", "speed", "red",
                          "bed", "breed", "id", "based", "weighted", "scaled", "normalised", "normalized", "encoded"})
USABLE_KINDS = ("categorical", "boolean", "numeric")
MAX_CLASSES = 50


@dataclass(frozen=True)
class TargetGuess:
    """The most likely target and the evidence for it, strongest first."""

    column: str
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def explanation(self) -> str:
        return "; ".join(self.reasons) if self.reasons else "no column stands out; it is the last usable one"


def name_words(name: str) -> list[str]:
    """Lower-case words of a column name: ``loanStatus`` -> loan, status; ``is_fraud`` -> is, fraud."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _name_evidence(words: list[str]) -> tuple[float, str | None]:
    if any(w in STRONG_WORDS for w in words):
        return 4.0, "its name says it is the label"
    if any(w in OUTCOME_NOUNS for w in words):
        return 2.0, "its name reads like an outcome"
    if (words and words[0] in FLAG_PREFIXES and len(words) > 1) or any(
            w.endswith("ed") and len(w) > 4 and w not in NOT_OUTCOMES for w in words):
        return 2.5, "its name describes something that happened to the row"
    return 0.0, None


def score_column(name: str, *, kind: str, unique: int, missing: float, position: int, n_usable: int,
                 sensitive: bool) -> tuple[float, list[str]]:
    """Evidence score of one column as the target, with the reasons that counted for it (see the module doc)."""
    score, reasons = 0.0, []
    points, reason = _name_evidence(name_words(name))
    score += points
    if reason:
        reasons.append(reason)
    if unique == 2:
        score += 2.5
        reasons.append("it has two classes")
    elif 3 <= unique <= 10:
        score += 0.5
        reasons.append(f"it has {unique} classes")
    elif unique > 10:
        score -= 1.0 if kind != "numeric" else 2.0
    if position == n_usable - 1:
        score += 2.5
        reasons.append("it is the last column")
    elif position == 0:
        score += 1.0
        reasons.append("it is the first usable column")
    if sensitive:
        score -= 3.0
    if missing > 0.5:
        score -= 2.0
    elif missing > 0:
        score -= 0.5
    return score, reasons


def guess_target(columns: Sequence[str], kinds: dict[str, str], unique: dict[str, int], missing: dict[str, float],
                 sensitive: set[str]) -> TargetGuess:
    """The best-scoring usable column (ties go to the later column, since outcomes are usually last)."""
    usable = [c for c in columns if kinds.get(c) in USABLE_KINDS and unique.get(c, 0) <= MAX_CLASSES]
    if not usable:
        usable = [c for c in columns if kinds.get(c) in USABLE_KINDS] or list(columns)
        return TargetGuess(usable[-1], ())
    best, best_score, best_reasons = usable[-1], float("-inf"), []
    for position, column in enumerate(usable):
        score, reasons = score_column(column, kind=kinds.get(column, ""), unique=unique.get(column, 0),
                                      missing=missing.get(column, 0.0), position=position, n_usable=len(usable),
                                      sensitive=column in sensitive)
        if score >= best_score:
            best, best_score, best_reasons = column, score, reasons
    return TargetGuess(best, tuple(best_reasons))
