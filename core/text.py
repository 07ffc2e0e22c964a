"""Words and numbers for messages: counted nouns ("1 row", "2 rows", never "1 rows" or "row(s)") and probabilities
with enough digits to be read against a threshold."""

from __future__ import annotations


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
