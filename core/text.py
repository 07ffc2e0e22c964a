"""Numbers and counted nouns as people read them: one number formatter, "1 row", "2 rows", "1,024 rows" (never
"1 rows" or "row(s)"), and probabilities with enough digits to be read against a threshold; shared by pages, the
report and the CLI."""

from __future__ import annotations

import math
from typing import Any


def format_number(value: Any, digits: int = 3, *, grouped: bool = False, infinite: str = "–") -> str | None:
    """The one way a number is shown: "–" when missing or NaN, ``infinite`` for an infinity (an epsilon without
    privacy), whole numbers with thousands separators, other numbers with ``digits`` decimals (``grouped`` adds
    separators). None for a value that is not a number (booleans included): the caller shows text its own way."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return infinite
    return f"{value:,.{digits}f}" if grouped else f"{value:.{digits}f}"


def plural(count: int, word: str, words: str | None = None) -> str:
    """The count with thousands separators and the right form of ``word`` (``words`` for irregular plurals)."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def probability_text(probability: float, threshold: float | None = None) -> str:
    """A probability as a percentage with enough digits to see which side of the threshold it is on: 49.93% and
    50.02% around a 50% threshold, never "50%" for both (at least one decimal, at most four)."""
    for digits in range(1, 5):
        shown = round(probability * 100, digits)
        if threshold is None or probability == threshold or ((shown >= threshold * 100) == (
                probability >= threshold) and shown != round(threshold * 100, digits)):
            return f"{probability:.{digits}%}"
    return f"{probability:.4%}"
