"""CSV-injection guard: text a spreadsheet would evaluate gets an apostrophe; everything else is unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.safety import escape_formula, formula_safe_frame


def test_escape_formula_prefixes():
    assert escape_formula('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert escape_formula("+1+1") == "'+1+1"
    assert escape_formula("-2") == "'-2"
    assert escape_formula("@SUM(A1)") == "'@SUM(A1)"
    assert escape_formula("\t=1") == "'\t=1"
    assert escape_formula("safe") == "safe"
    assert escape_formula(-2.5) == -2.5
    assert escape_formula(None) is None


def test_formula_safe_frame_leaves_numbers_and_missing_alone():
    frame = pd.DataFrame({"=cmd": ["=1+1", "ok", None], "n": [-1.0, 2.0, np.nan]})
    safe = formula_safe_frame(frame)
    assert list(safe.columns) == ["'=cmd", "n"]
    assert safe.iloc[:, 0].tolist()[:2] == ["'=1+1", "ok"]
    assert pd.isna(safe.iloc[2, 0])
    assert safe["n"].tolist()[:2] == [-1.0, 2.0]
    assert list(frame.columns) == ["=cmd", "n"]  # the original is untouched
