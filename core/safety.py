"""Neutralising spreadsheet formulas in text that leaves Riskboard as CSV.

A cell such as ``=HYPERLINK("http://evil","click")`` is harmless in a table but runs as a formula when a CSV export
is opened in Excel or LibreOffice (CSV injection). Every table we hand out — our own exports and the tables shown
in the UI, whose toolbar can download them as CSV — goes through :func:`formula_safe_frame`, which prefixes such
text with an apostrophe (OWASP's advice): spreadsheets then show it as text. Numbers are never touched.
"""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def escape_formula(text: object) -> object:
    """Prefix text that a spreadsheet would evaluate; other values come back unchanged."""
    if isinstance(text, str) and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names cannot run as formulas; numeric columns are left as they are."""
    safe = frame.copy()
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            safe.isetitem(position, values.map(escape_formula, na_action="ignore"))
    safe.columns = _unique([str(escape_formula(str(c))) for c in frame.columns])
    return safe


def _unique(names: list[str]) -> list[str]:
    """Escaped names, made distinct where escaping made two equal (``=A`` and ``'=A``): later ones get `` (2)``.

    Escaping always wins over keeping a name as uploaded: a formula must never reach a spreadsheet.
    """
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        candidate, n = name, 2
        while candidate in seen:
            candidate, n = f"{name} ({n})", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out
