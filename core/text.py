"""Counted nouns for messages: "1 row", "2 rows", "1,024 rows", never "1 rows" or "row(s)"."""

from __future__ import annotations


def plural(count: int, word: str, words: str | None = None) -> str:
    """The count with thousands separators and the right form of ``word`` (``words`` for irregular plurals)."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"
