"""Names a person gave a run, kept in their own table of the run store.

The table is created by an idempotent step (``CREATE TABLE IF NOT EXISTS``) run whenever the store prepares to
write, beside the numbered migrations rather than as one of them: other features add numbered steps in parallel,
and this one must neither take their number nor depend on it. Reads tolerate a store that does not have the
table yet (an older store opened read-only): such a store simply has no edited names.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from core.errors import RunNameError

MAX_NAME_CHARS = 80
NAMES_TABLE = "run_names"
NAMES_STEP = (f"CREATE TABLE IF NOT EXISTS {NAMES_TABLE} (run_id TEXT PRIMARY KEY REFERENCES runs (id) "
              "ON DELETE CASCADE, name TEXT NOT NULL, updated_at TEXT NOT NULL)")
EMPTY_NAME = "A run's name cannot be empty; type a few words that tell it apart."
LONG_NAME = "A run's name can have at most {limit} characters; this one has {found}. Shorten it."
CONTROL_NAME = "A run's name cannot contain line breaks or control characters; type it on one line."


def ensure_names_table(conn: sqlite3.Connection) -> None:
    """The idempotent migration step: safe to run on every start, by any number of processes."""
    conn.execute(NAMES_STEP)


def clean_name(name: object) -> str:
    """The name as stored: surrounding spaces removed; a typed :class:`RunNameError` when it cannot be used."""
    text = str(name if name is not None else "").strip()
    if not text:
        raise RunNameError(EMPTY_NAME)
    if len(text) > MAX_NAME_CHARS:
        raise RunNameError(LONG_NAME.format(limit=MAX_NAME_CHARS, found=len(text)))
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise RunNameError(CONTROL_NAME)
    return text


def read_names(conn: sqlite3.Connection, run_ids: Iterable[str]) -> dict[str, str]:
    """Edited names of ``run_ids`` (missing ids have none); empty when the store has no names table yet."""
    ids = list(run_ids)
    if not ids:
        return {}
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (NAMES_TABLE,)).fetchone()
    if found is None:
        return {}
    names: dict[str, str] = {}
    for start in range(0, len(ids), 500):  # SQLite caps the number of bound parameters
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))  # placeholders only: the ids are bound, never formatted in
        rows = conn.execute(f"SELECT run_id, name FROM run_names WHERE run_id IN ({marks})",  # noqa: S608
                            chunk).fetchall()
        names.update({row[0]: row[1] for row in rows})
    return names
