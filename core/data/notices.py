"""Columns left out of the features, said in a few lines instead of one line per column.

A table of 784 pixels has a couple of hundred constant pixels (the image border); one warning each buried the
warnings that matter. Constant and empty columns are therefore summarised in one line that says how many and
names the first few; other reasons (identifiers, free text) are grouped the same way when several columns share
them, and leakage reasons, which differ per column, stay one line each. Built from the ``excluded`` mapping of
:func:`core.data.spec.build_spec` / :func:`core.data.spec.suggest_spec` (column -> reason); the per-column
detection is untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.data.spec import EXCLUDED_KINDS
from core.text import plural

SHOWN = 5
UNINFORMATIVE = ("constant", "empty")
GROUPED = {
    "id": "look like identifiers (one value per row), which a model can only memorise",
    "text": "are free text, which this model cannot use",
}


def named(columns: list[str], shown: int = SHOWN) -> str:
    """The first ``shown`` column names quoted, then "and N more"."""
    head = ", ".join(repr(c) for c in columns[:shown])
    rest = len(columns) - shown
    return head + (f" and {rest:,} more" if rest > 0 else "")


def _kind(column: str, reason: str) -> str | None:
    for kind, text in EXCLUDED_KINDS.items():
        if reason == f"{column!r} {text}":
            return kind
    return None


def excluded_lines(excluded: Mapping[str, str], *, shown: int = SHOWN) -> list[str]:
    """One line for all constant or empty columns, one per shared reason, and the remaining reasons as they are."""
    by_kind: dict[str, list[str]] = {}
    others: list[str] = []
    for column, reason in excluded.items():
        kind = _kind(column, reason)
        if kind is None:
            others.append(reason)
        else:
            by_kind.setdefault("uninformative" if kind in UNINFORMATIVE else kind, []).append(column)
    lines = []
    dull = by_kind.pop("uninformative", [])
    if len(dull) == 1:
        lines.append(excluded[dull[0]])
    elif dull:
        lines.append(f"{plural(len(dull), 'column')} are constant or empty, so they carry no information: "
                     f"{named(dull, shown)}")
    for kind, columns in by_kind.items():
        if len(columns) == 1:
            lines.append(excluded[columns[0]])
        else:
            lines.append(f"{plural(len(columns), 'column')} {GROUPED.get(kind, EXCLUDED_KINDS[kind])}: "
                         f"{named(columns, shown)}")
    return lines + others


def column_notes(schema, *, shown: int = SHOWN) -> list[tuple[str, str]]:
    """(column or "", note) for the schema's per-column warnings, with every constant or empty column's warning
    folded into one line (column ""), so a table of pixels lists one line for its blank border, not hundreds."""
    dull = [c.name for c in schema.columns if c.kind in UNINFORMATIVE]
    notes: list[tuple[str, str]] = []
    if len(dull) > 1:
        notes.append(("", f"{plural(len(dull), 'column')} are constant or empty, so they carry no information: "
                          f"{named(dull, shown)}"))
    for column in schema.columns:
        if len(dull) > 1 and column.kind in UNINFORMATIVE:
            continue
        notes += [(column.name, warning) for warning in column.warnings]
    return notes
