"""The activity log: an append-only, hash-chained record of who did what, in ``runs.sqlite``'s ``activity`` table.

Each entry's ``hash`` is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8), which includes the
previous entry's hash, so changing, removing or reordering any entry breaks every hash after it and
:func:`verify` names the first bad ``seq``. Appends run inside ``BEGIN IMMEDIATE``: the write lock is taken before
the head is read, so two processes appending at once can never both chain onto the same head. Triggers refuse
``UPDATE`` and ``DELETE`` on the table; someone editing the file by hand is what the chain is for.

A chain alone cannot show that its newest entries were cut off: what is left is still a valid chain. So the head
(``seq`` and ``hash`` of the newest entry) is also kept outside the table: in the ``activity_head`` table, written in
the same transaction as each entry, and in ``activity-head.json`` next to the run store, advanced after each commit
under a lock (so it only ever moves forward); reports record it too and ``log --verify --head SEQ:HASH`` checks such
a copy. A head is only advanced while the entry it names is still in the table, so once entries were removed the
old head stays as the evidence, and :func:`verify` names the first missing ``seq``.

``details`` hold ids, counts, column names and settings, never a cell value of an uploaded table.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import jsonsafe
from core.security._db import connection, transaction
from core.security.actor import current_actor
from core.storage import atomic_write_bytes, file_lock, workspace_errors
from core.text import format_number

GENESIS = "0" * 64
HEAD_FILE = "activity-head.json"
HEAD_FORMAT = "riskboard.activity-head"
_HEAD_LOCK = ".activity-head.lock"

ACTIONS = (
    "sign_in", "sign_in_failed", "sign_out", "dataset_added", "dataset_deleted", "spec_saved", "run_started",
    "run_finished", "run_failed", "run_cancelled", "run_deleted", "explained", "fairness_computed", "audit_run",
    "mitigation_saved", "thresholds_saved", "report_text_saved", "report_exported", "user_added", "user_removed",
    "role_changed", "password_changed", "key_created", "key_rotated", "key_destroyed", "workspace_encrypted",
    "erasure_incomplete",
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
    head_seq: int = 0


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
    anchored = conn.execute("SELECT seq, hash FROM activity_head WHERE id = 1").fetchone()
    if anchored is None or _holds(conn, int(anchored[0]), str(anchored[1])):
        conn.execute("INSERT INTO activity_head (id, seq, hash) VALUES (1, ?, ?) "
                     "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                     (fields["seq"], digest))
    return Entry(hash=digest, **{k: fields[k] for k in _FIELDS})


def _holds(conn: sqlite3.Connection, seq: int, digest: str) -> bool:
    """True when the table still has entry ``seq`` with hash ``digest`` (a recorded head is still in the log)."""
    row = conn.execute("SELECT hash FROM activity WHERE seq = ?", (seq,)).fetchone()
    return row is not None and str(row[0]) == digest


def append(home: Path, action: str, subject: str = "", details: Mapping[str, Any] | None = None, *,
           actor: str | None = None) -> Entry:
    """Add one entry at the head of the chain (by the current actor unless ``actor`` is given)."""
    with transaction(home) as conn:
        entry = append_in(conn, action, subject, details, actor=actor)
    anchor(home)
    return entry


def read_head_file(home: Path) -> tuple[int, str] | None:
    """The head recorded in ``activity-head.json`` (None when there is none yet or it is unreadable)."""
    try:
        body = json.loads((Path(home) / HEAD_FILE).read_text(encoding="utf-8"))
        return int(body["seq"]), str(body["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def anchor(home: Path) -> None:
    """Copy the head kept in ``runs.sqlite`` into ``activity-head.json`` (call after committing an entry made with
    :func:`append_in`). Forward only, under a lock, and only while the file's head is still in the table."""
    home = Path(home)
    with file_lock(home / _HEAD_LOCK), connection(home) as conn:
        row = conn.execute("SELECT seq, hash FROM activity_head WHERE id = 1").fetchone()
        recorded = read_head_file(home)
        if row is None or (recorded is not None and (recorded[0] >= int(row[0]) or not _holds(conn, *recorded))):
            return
        body = {"format": HEAD_FORMAT, "seq": int(row[0]), "hash": str(row[1])}
        with workspace_errors(home):
            atomic_write_bytes(home / HEAD_FILE, json.dumps(body, sort_keys=True).encode("utf-8"))


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
    """The hash of the newest entry in the table, or the genesis hash when the log is empty."""
    if not (Path(home) / "runs.sqlite").is_file():
        return GENESIS
    with connection(home) as conn:
        row = conn.execute("SELECT hash FROM activity ORDER BY seq DESC LIMIT 1").fetchone()
    return GENESIS if row is None else str(row["hash"])


def parse_head(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (as a report prints it) as a pair; ValueError when it is not one."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(text)
    return int(seq), digest


def _walk(rows: list) -> Verification:
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
            return Verification(ok=False, entries=len(rows), head=previous, first_bad_seq=seq, reason=problem,
                                head_seq=expected_seq - 1)
        previous, expected_seq = str(row["hash"]), seq + 1
    return Verification(ok=True, entries=len(rows), head=previous, head_seq=expected_seq - 1)


def _check_head(found: Verification, hashes: dict[int, str], recorded: tuple[int, str], where: str) -> Verification:
    """The walk's outcome, failed when the head recorded ``where`` is past the table's end or is another entry."""
    seq, digest = recorded
    if seq > found.head_seq:
        missing = found.head_seq + 1
        span = f"entry {missing}" if missing == seq else f"entries {missing} to {seq}"
        reason = f"{span} {'is' if missing == seq else 'are'} missing: {where} records entry {seq} as the head " \
                 "(the newest entries were removed)"
        return replace(found, ok=False, first_bad_seq=missing, reason=reason)
    if hashes.get(seq) != digest:
        reason = f"it is not the entry {where} records as entry {seq} (entries were removed and others written " \
                 "in their place)"
        return replace(found, ok=False, first_bad_seq=seq, reason=reason)
    return found


def verify(home: Path, heads: list[tuple[int, str]] | None = None) -> Verification:
    """Walk the chain from the first entry: each ``seq`` one more than the last, each ``prev_hash`` the previous
    ``hash``, each ``hash`` recomputed. Then check the heads recorded outside the table (``activity_head``,
    ``activity-head.json`` and any ``heads`` given, such as one printed in a report): none may name an entry that
    is gone or different. The first entry that fails (or the first one missing) is named."""
    if not (Path(home) / "runs.sqlite").is_file():
        return Verification(ok=True, entries=0, head=GENESIS)
    with connection(home) as conn:
        rows = conn.execute("SELECT * FROM activity ORDER BY seq").fetchall()
        anchored = conn.execute("SELECT seq, hash FROM activity_head WHERE id = 1").fetchone()
    found = _walk(rows)
    if not found.ok:
        return found
    hashes = {int(row["seq"]): str(row["hash"]) for row in rows}
    recorded = [((int(anchored[0]), str(anchored[1])), "the run store's head record")] if anchored else []
    from_file = read_head_file(home)
    if from_file is not None:
        recorded.append((from_file, HEAD_FILE))
    recorded += [(given, "the head you gave") for given in heads or []]
    for pair, where in recorded:
        found = _check_head(found, hashes, pair, where)
        if not found.ok:
            break
    return found


def _detail_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_detail_value(v) for v in value) or "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_detail_value(v)}" for k, v in value.items()) or "none"
    shown = format_number(value, 3)
    return str(value) if shown is None else shown


_SHA256 = re.compile(r"[0-9a-f]{64}")


def subject_text(subject: str) -> str:
    """A subject as the pages show it: a dataset's 64-character SHA-256 id as its first 12 characters, as every other
    page names datasets (runs and users are shown whole; the CSV keeps the full id)."""
    return subject[:12] if _SHA256.fullmatch(subject) else subject


def details_text(details: Mapping[str, Any]) -> str:
    """An entry's details as a person reads them on the Activity page: ``rows 1,000 · sensitive sex, race``, keys
    in words and numbers by the one formatter (the CSV keeps the exact ``key=value`` pairs)."""
    return " · ".join(f"{str(k).replace('_', ' ')} {_detail_value(v)}" for k, v in details.items())


def as_rows(found: list[Entry]) -> list[dict[str, Any]]:
    """Entries as flat rows for a table or a CSV (details as ``key=value`` text)."""
    return [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
             "details": "; ".join(f"{k}={v}" for k, v in e.details.items()), "hash": e.hash} for e in found]
