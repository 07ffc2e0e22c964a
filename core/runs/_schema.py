"""SQLite connection settings and the versioned schema of the run store.

Why these settings:

* **WAL** lets the worker write epochs while the app reads them: readers never block the writer and vice versa.
  (WAL needs a local file system; do not put ``RISKBOARD_HOME`` on NFS/SMB.)
* **One short-lived connection per call** (opened, used, closed): no connection is shared between threads, so
  Streamlit reruns on different threads and the worker's heartbeat thread never hit ``check_same_thread``.
* **timeout / busy_timeout of 30 s**: a writer that finds the database locked waits instead of failing with
  "database is locked"; every write transaction is a few statements, so waits are milliseconds in practice.
* **Autocommit + explicit ``BEGIN IMMEDIATE``** for read-modify-write steps (claim, finish, reap): the write lock is
  taken up front, so two processes cannot both read "a slot is free" and both take it.

The schema version lives in ``PRAGMA user_version``; :func:`migrate` applies the missing steps of
:data:`MIGRATIONS` in one transaction, so a later issue adds a step instead of editing the first one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import RiskboardError
from core.storage import immediate_transaction

BUSY_TIMEOUT_S = 30.0

NEWER_SCHEMA = (
    "the run store at {path} was written by a newer Riskboard (schema version {found}, this one knows {known}); "
    "upgrade Riskboard or point RISKBOARD_HOME at another folder."
)

_V1 = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT,
    dataset_id TEXT NOT NULL,
    spec TEXT NOT NULL,
    config TEXT NOT NULL,
    task TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    device TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    heartbeat_at TEXT,
    pid INTEGER,
    host TEXT,
    error TEXT,
    metrics TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_status ON runs (status, created_at);
CREATE INDEX runs_by_created ON runs (created_at);
CREATE TABLE metrics (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, epoch, name)
) WITHOUT ROWID;
"""

#: Version 2: a mitigated run names the run it was derived from.
_V2 = """
ALTER TABLE runs ADD COLUMN parent_id TEXT;
CREATE INDEX runs_by_parent ON runs (parent_id);
"""

#: ``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``. Append; never edit a released step.
MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """Open a connection with the store's settings (autocommit, busy timeout, rows by name, foreign keys)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that is closed when the block ends (``sqlite3``'s own context manager does not close)."""
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on a fresh connection."""
    with connection(path) as conn, immediate_transaction(conn):
        yield conn


def _read_only_connect(path: Path) -> sqlite3.Connection:
    """A connection that never writes: plain ``mode=ro``, or ``immutable=1`` when the folder is read-only.

    A WAL database needs its ``-shm`` file to be read; on a read-only mount that file cannot be created, and
    ``immutable=1`` (no locking, no shared memory) is the documented way to read such a file.
    """
    uri = path.resolve().as_uri()
    for query in ("mode=ro", "immutable=1"):
        conn = sqlite3.connect(f"{uri}?{query}", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            if query == "immutable=1":
                raise
            continue
        return conn
    raise sqlite3.OperationalError("unable to open database file")  # pragma: no cover


@contextmanager
def read_connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection for reading; falls back to a read-only open when the workspace cannot be written."""
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(path)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        if conn is not None:
            conn.close()
        conn = _read_only_connect(path)
    try:
        yield conn
    finally:
        conn.close()


def empty_connection() -> sqlite3.Connection:
    """An in-memory store with the current schema: what reads see before the first run was ever created."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    for step in MIGRATIONS:
        for statement in step.split(";"):
            if statement.strip():
                conn.execute(statement)
    return conn


def schema_version(path: Path) -> int:
    """The stored ``user_version``, read without writing anything."""
    with read_connection(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(path: Path) -> None:
    """Create or upgrade the database at ``path`` to :data:`SCHEMA_VERSION` and switch it to WAL mode.

    Safe to call from several processes at once: the version is re-read inside the write transaction.
    """
    with connection(path) as conn:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # pragma: no cover - only on file systems without shared memory
            raise RiskboardError(f"the run store at {path} cannot use WAL mode (got {mode!r}); put RISKBOARD_HOME "
                                 "on a local disk.")
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return  # the common case: no write lock taken just to open the store
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise RiskboardError(NEWER_SCHEMA.format(path=path, found=found, known=SCHEMA_VERSION))
            for step in MIGRATIONS[found:]:
                for statement in step.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if found < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
