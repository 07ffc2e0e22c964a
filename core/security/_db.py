"""The security tables (users, sign-in failures, activity and its head) inside the run store's ``runs.sqlite``.

They are created with ``CREATE ... IF NOT EXISTS`` on first use: an idempotent step of their own, so the run store's
numbered migrations stay the run store's, and a workspace of any schema version gains them without a version bump.
The connection settings match the run store's (autocommit, 30 s busy timeout, WAL), so both share one file safely.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.storage import ensure_dir, immediate_transaction, workspace_errors

BUSY_TIMEOUT_S = 30.0
DB_NAME = "runs.sqlite"

_TABLES = """
CREATE TABLE IF NOT EXISTS activity (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_by_subject ON activity (subject);
CREATE TRIGGER IF NOT EXISTS activity_no_update BEFORE UPDATE ON activity
    BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS activity_no_delete BEFORE DELETE ON activity
    BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
CREATE TABLE IF NOT EXISTS activity_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT OR IGNORE INTO activity_head (id, seq, hash)
    SELECT 1, seq, hash FROM activity ORDER BY seq DESC LIMIT 1;
CREATE TRIGGER IF NOT EXISTS activity_head_no_delete BEFORE DELETE ON activity_head
    BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS activity_head_forward_only BEFORE UPDATE ON activity_head
    WHEN NEW.seq <= OLD.seq BEGIN SELECT RAISE(ABORT, 'the activity log is append-only'); END;
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sign_in_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until REAL NOT NULL,
    lock_seconds REAL NOT NULL
);
"""

_READY: set[Path] = set()


def db_path(home: Path) -> Path:
    return Path(home) / DB_NAME


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _prepare(path: Path) -> None:
    if path in _READY and path.is_file():
        return
    conn = _connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(_TABLES)
    finally:
        conn.close()
    _READY.add(path)


@contextmanager
def connection(home: Path) -> Iterator[sqlite3.Connection]:
    """A connection to ``<home>/runs.sqlite`` with the security tables in place; closed when the block ends."""
    home = Path(home)
    ensure_dir(home)
    path = db_path(home)
    with workspace_errors(home):
        _prepare(path)
        conn = _connect(path)
    try:
        with workspace_errors(home):
            yield conn
    finally:
        conn.close()


@contextmanager
def transaction(home: Path) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: the write lock is taken before anything is read."""
    with connection(home) as conn, immediate_transaction(conn):
        yield conn


def forget_prepared() -> None:
    """Tests that delete a workspace between cases call this so the tables are created again."""
    _READY.clear()
