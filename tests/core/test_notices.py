"""Constant and empty columns in one line that counts them and names the first few."""

from __future__ import annotations

import pandas as pd

from core.data.notices import column_notes, excluded_lines
from core.data.schema import infer_schema
from core.data.spec import EXCLUDED_KINDS


def _reason(column: str, kind: str) -> str:
    return f"{column!r} {EXCLUDED_KINDS[kind]}"


def test_hundreds_of_constant_pixels_are_one_line() -> None:
    excluded = {f"pixel{i}": _reason(f"pixel{i}", "constant") for i in range(235)}
    excluded["blank"] = _reason("blank", "empty")
    assert excluded_lines(excluded) == [
        "236 columns are constant or empty, so they carry no information: 'pixel0', 'pixel1', 'pixel2', 'pixel3', "
        "'pixel4' and 231 more"]


def test_other_reasons_are_grouped_or_kept() -> None:
    excluded = {"id": _reason("id", "id"), "row": _reason("row", "id"), "note": _reason("note", "text"),
                "c": _reason("c", "constant"), "decision": "possible target leakage: 'decision' gives it away"}
    assert excluded_lines(excluded) == [
        "'c' has a single value, so it carries no information",
        "2 columns look like identifiers (one value per row), which a model can only memorise: 'id', 'row'",
        "'note' is free text, which this model cannot use",
        "possible target leakage: 'decision' gives it away",
    ]
    assert excluded_lines({}) == []


def test_schema_notes_fold_constant_and_empty_columns_into_one_line():
    frame = pd.DataFrame({f"px{i}": [0] * 8 for i in range(7)}
                         | {"blank": [None] * 8, "x": [1.0, 2.0] + [None] * 6, "y": ["a", "b"] * 4})
    notes = column_notes(infer_schema(frame))
    assert notes == [("", "8 columns are constant or empty, so they carry no information: 'px0', 'px1', 'px2', "
                          "'px3', 'px4' and 3 more"), ("x", "75% of the values are missing")]
