"""The activity log: an append-only, hash-chained record of who did what, in ``runs.sqlite``'s ``activity`` table.

Each entry's ``hash`` is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8), which includes the
previous entry's hash, so changing, removing or reordering any entry breaks every hash after it and
:func:`verify` names the first bad ``seq``. Appends run inside ``BEGIN IMMEDIATE``: the write lock is taken before
the head is read, so two processes appending at once can never both chain onto the same head. Triggers refuse
``UPDATE`` and ``DELETE`` on the table; someone editing the file by hand is what the chain is for.

``details`` hold ids, counts, column names and settings, never a cell value of an uploaded table.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import jsonsafe
from core.security._db import connection, transaction
from core.security.actor import current_actor

GENESIS = "0" * 64

ACTIONS = (
    "sign_in", "sign_in_failed", "sign_out", "dataset_added", "dataset_deleted", "spec_saved", "run_started",
    "run_finished", "run_failed", "run_cancelled", "run_deleted", "explained", "fairness_computed", "audit_run",
    "mitigation_saved", "thresholds_saved", "report_text_saved", "report_exported", "user_added", "user_removed",
    "role_changed", "password_changed", "key_created", "key_rotated", "key_destroyed", "erasure_incomplete",
)
UNKNOWN_ACTION = "{action!r} is not an activity action; use one of {choices}."
_FIELDS = ("seq", "at", "actor", "action", "subject", "details", "prev_hash")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`: ``ok``, how many entries, the head hash, and the first bad ``seq``."""

    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None = None
    reason: str = ""


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 of the entry's canonical JSON (``hash`` itself excluded, ``prev_hash`` included)."""
    body = {name: fields[name] for name in _FIELDS}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    return json.loads(jsonsafe.dumps(dict(details or {})))


def prepare(home: Path) -> None:
    """Create the log's table if needed (before a caller opens a transaction of its own for :func:`append_in`)."""
    with connection(home):
        pass


def append_in(conn: sqlite3.Connection, action: str, subject: str = "", details: Mapping[str, Any] | None = None,
              *, actor: str | None = None) -> Entry:
    """Add one entry using ``conn``, which must be inside ``BEGIN IMMEDIATE`` on ``runs.sqlite`` (so an entry and the
    change it records commit together)."""
    if action not in ACTIONS:
        raise ValueError(UNKNOWN_ACTION.format(action=action, choices=", ".join(ACTIONS)))
    fields: dict[str, Any] = {"at": datetime.now(UTC).isoformat(timespec="microseconds"),
                              "actor": actor or current_actor().name, "action": action,
                              "subject": str(subject), "details": _details(details)}
    row = conn.execute("SELECT seq, hash FROM activity ORDER BY seq DESC LIMIT 1").fetchone()
    fields["seq"] = 1 if row is None else int(row[0]) + 1
    fields["prev_hash"] = GENESIS if row is None else str(row[1])
    digest = entry_hash(fields)
    conn.execute("INSERT INTO activity (seq, at, actor, action, subject, details, prev_hash, hash) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (fields["seq"], fields["at"], fields["actor"], action, fields["subject"],
                  json.dumps(fields["details"], sort_keys=True), fields["prev_hash"], digest))
    return Entry(hash=digest, **{k: fields[k] for k in _FIELDS})


def append(home: Path, action: str, subject: str = "", details: Mapping[str, Any] | None = None, *,
           actor: str | None = None) -> Entry:
    """Add one entry at the head of the chain (by the current actor unless ``actor`` is given)."""
    with transaction(home) as conn:
        return append_in(conn, action, subject, details, actor=actor)


def _entry(row) -> Entry:
    try:
        details = json.loads(row["details"])
    except ValueError:
        details = {"unreadable": row["details"]}
    return Entry(seq=int(row["seq"]), at=row["at"], actor=row["actor"], action=row["action"], subject=row["subject"],
                 details=details if isinstance(details, dict) else {"value": details}, prev_hash=row["prev_hash"],
                 hash=row["hash"])


def entries(home: Path, *, run: str | None = None, actor: str | None = None, action: str | None = None,
            subject: str | None = None, newest_first: bool = False) -> list[Entry]:
    """Entries matching every filter given (``run``: about that run, as subject or as ``details.run_id``)."""
    if not (Path(home) / "runs.sqlite").is_file():
        return []
    sql, params = "SELECT * FROM activity WHERE 1 = 1", []
    if run:
        sql += " AND (subject = ? OR json_extract(details, '$.run_id') = ?)"
        params += [run, run]
    for column, value in (("actor", actor), ("action", action), ("subject", subject)):
        if value:
            sql += f" AND {column} = ?"
            params.append(value)
    sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
    with connection(home) as conn:
        return [_entry(row) for row in conn.execute(sql, params).fetchall()]


def head(home: Path) -> str:
    """The hash of the newest entry (the chain's head), or the genesis hash when the log is empty."""
    if not (Path(home) / "runs.sqlite").is_file():
        return GENESIS
    with connection(home) as conn:
        row = conn.execute("SELECT hash FROM activity ORDER BY seq DESC LIMIT 1").fetchone()
    return GENESIS if row is None else str(row["hash"])


def verify(home: Path) -> Verification:
    """Walk the chain from the first entry: each ``seq`` one more than the last, each ``prev_hash`` the previous
    ``hash``, each ``hash`` recomputed. The first entry that fails is named."""
    if not (Path(home) / "runs.sqlite").is_file():
        return Verification(ok=True, entries=0, head=GENESIS)
    with connection(home) as conn:
        rows = conn.execute("SELECT * FROM activity ORDER BY seq").fetchall()
    previous, expected_seq = GENESIS, 1
    for row in rows:
        seq = int(row["seq"])
        problem = ""
        if seq != expected_seq:
            problem = f"expected entry {expected_seq} here, found {seq} (an entry was removed or reordered)"
        elif row["prev_hash"] != previous:
            problem = "its prev_hash is not the previous entry's hash (an entry before it was removed or changed)"
        else:
            try:
                fields = dict(row) | {"details": json.loads(row["details"])}
                recomputed = entry_hash(fields)
            except ValueError:
                recomputed = ""
            if recomputed != row["hash"]:
                problem = "its contents do not match its hash (the entry was changed)"
        if problem:
            return Verification(ok=False, entries=len(rows), head=previous, first_bad_seq=seq, reason=problem)
        previous, expected_seq = str(row["hash"]), seq + 1
    return Verification(ok=True, entries=len(rows), head=previous)



def as_rows(found: list[Entry]) -> list[dict[str, Any]]:
    """Entries as flat rows for a table or a CSV (details as ``key=value`` text)."""
    return [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
             "details": "; ".join(f"{k}={v}" for k, v in e.details.items()), "hash": e.hash} for e in found]
