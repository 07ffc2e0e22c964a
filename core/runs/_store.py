"""The run store: one SQLite database (``<home>/runs.sqlite``) plus one artifact folder per run (``<home>/runs/<id>``).

Everything a page or the CLI knows about a run comes from here, so the store, not a Python object in some process,
is the source of truth: a page refresh, a second tab, an app restart or the CLI all see the same runs.

Lifecycle: ``queued`` -> ``running`` (by :meth:`RunStore.claim`) -> ``succeeded`` / ``failed`` / ``cancelled`` (by
:meth:`RunStore.finish`, :meth:`RunStore.request_cancel` or :meth:`RunStore.reap_stale`). A terminal status is never
overwritten: every transition is an ``UPDATE ... WHERE status IN ('queued', 'running')``, so when a cancel, a reaper
and the worker race, the first one wins and the record stays consistent.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import logging
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core import jsonsafe
from core.errors import RiskboardError, RunNotFoundError
from core.runs._artifacts import RunArtifacts
from core.runs._host import hostname, pid_alive
from core.runs._kinds import (
    ACTIVE_STATUSES,
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    STATUSES,
    SUCCEEDED,
    TERMINAL_STATUSES,
)
from core.runs._names import clean_name, ensure_names_table, read_names
from core.runs._record import (
    RunRecord,
    iso,
    new_run_id,
    now_iso,
    validate_run_id,
)
from core.runs._schema import (
    NEWER_SCHEMA,
    SCHEMA_VERSION,
    connection,
    empty_connection,
    migrate,
    read_connection,
    schema_version,
)
from core.runs._schema import transaction as _transaction
from core.security import activity, erasure
from core.security.actor import require_editor
from core.security.at_rest import run_key_id
from core.storage import ensure_dir, workspace_errors

log = logging.getLogger(__name__)

#: Parameters of ``status IN (?, ?)``: a run that can still change.
_ACTIVE = tuple(str(status) for status in ACTIVE_STATUSES)

RUN_NOT_FOUND = "there is no run {run_id}; it may have been deleted. Pick a run from the list."
RUN_ACTIVE = "run {run_id} is still {status}; cancel it and wait until it stops before deleting it."
WORKER_LOST = ("the worker process stopped without finishing (killed or crashed); start the run again. "
               "The run's worker.log may say more.")
WORKER_LOST_QUEUED = ("the worker process stopped before the run could start (killed or crashed); start the run "
                      "again.")
CANCELLED_BEFORE_START = "cancelled by the user before it started"

_MAX_ERROR_CHARS = 4000
_OUTCOME_ACTIONS = {SUCCEEDED: "run_finished", FAILED: "run_failed", CANCELLED: "run_cancelled"}


def _dumps(value: Mapping[str, Any] | None) -> str | None:
    """Strict JSON for the store's JSON columns: numpy values as Python, non-finite floats as null."""
    return None if value is None else jsonsafe.dumps(dict(value))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class RunStore:
    """Runs and their per-epoch metrics under ``home`` (the Riskboard workspace).

    Cheap to construct: it touches nothing on disk, and holds no open connection, so it can live in
    ``st.cache_resource`` and be used from any thread or process. Reading never needs write access (a read-only
    workspace still lists its runs); the schema is created or migrated by the first write, or by a read that finds
    an old schema. Every write failure (read-only mount, full disk, another user's files) is a
    :class:`~core.errors.WorkspaceError` naming the folder.
    """

    def __init__(self, home: Path | str) -> None:
        self.home = Path(home)
        self.db_path = self.home / "runs.sqlite"
        self.runs_dir = self.home / "runs"
        self._schema_ready = False

    # -- connections ------------------------------------------------------------------------------------------------

    def _prepare_write(self) -> None:
        if not self._schema_ready:
            ensure_dir(self.runs_dir)
            with workspace_errors(self.home):
                migrate(self.db_path)
                with connection(self.db_path) as conn:
                    ensure_names_table(conn)
            self._schema_ready = True

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading; an empty in-memory store when no run was ever created here."""
        if not self._schema_ready:
            found = None
            if self.db_path.is_file():
                with workspace_errors(self.home):
                    found = schema_version(self.db_path)
            # no file, or (read-only) one that holds only core.security's tables and no run yet: nothing to read
            if found is None or (found == 0 and not self._can_write()):
                conn = empty_connection()
                ensure_names_table(conn)
                try:
                    yield conn
                finally:
                    conn.close()
                return
            if found > SCHEMA_VERSION:
                raise RiskboardError(NEWER_SCHEMA.format(path=self.db_path, found=found, known=SCHEMA_VERSION))
            if found < SCHEMA_VERSION:
                self._prepare_write()  # an old schema is the one case where a read has to write
        with workspace_errors(self.home), read_connection(self.db_path) as conn:
            yield conn

    def _can_write(self) -> bool:
        return os.access(self.home, os.W_OK) and os.access(self.db_path, os.W_OK)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._prepare_write()
        with workspace_errors(self.home), connection(self.db_path) as conn:
            yield conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._prepare_write()
        with workspace_errors(self.home), _transaction(self.db_path) as conn:
            yield conn

    def __repr__(self) -> str:
        return f"RunStore({str(self.home)!r})"

    # -- creating and reading -------------------------------------------------------------------------------------

    def create_run(self, *, kind: str, dataset_id: str, spec: Mapping[str, Any], config: Mapping[str, Any],
                   task: str, name: str | None = None, parent_id: str | None = None) -> str:
        """Insert a ``queued`` run and return its new id. ``task`` is the ``module:function`` a worker will call;
        ``parent_id`` links a derived run (a mitigation) to the run it came from."""
        require_editor(f"start a {kind} run")
        if parent_id is not None:
            self.get(parent_id)
        created = now_iso()
        values = (kind, name, dataset_id, _dumps(spec), _dumps(config), task, QUEUED, created, parent_id)
        for _ in range(5):  # a clash needs the same second and the same 24 random bits: retry, never fail
            run_id = new_run_id(datetime.fromisoformat(created))
            try:
                with self._write() as conn:
                    conn.execute(
                        "INSERT INTO runs (id, kind, name, dataset_id, spec, config, task, status, created_at, "
                        "parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (run_id, *values))
            except sqlite3.IntegrityError:
                continue
            activity.append(self.home, "run_started", run_id, {"kind": kind, "dataset_id": dataset_id,
                                                               "parent_id": parent_id})
            return run_id
        raise RuntimeError("could not find a free run id")  # pragma: no cover

    def get(self, run_id: str) -> RunRecord:
        """The run ``run_id``; :class:`RunNotFoundError` if the id is malformed or unknown."""
        validate_run_id(run_id)
        with self._read() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise self._not_found(run_id)
            return self._records(conn, [row])[0]

    def list(self, limit: int | None = None, status: str | Iterable[str] | None = None,
             kinds: Iterable[str] | None = None) -> builtins.list[RunRecord]:
        """Runs newest first, optionally only those with the given status(es) and kind(s) and at most ``limit``.

        ``kinds=MODEL_RUN_KINDS`` lists model runs only (what every run picker shows); jobs are left out."""
        sql, params, where = "SELECT * FROM runs", [], []
        if status is not None:
            wanted = [status] if isinstance(status, str) else builtins.list(status)
            unknown = [s for s in wanted if s not in STATUSES]
            if unknown:
                raise ValueError(f"unknown run status {unknown[0]!r}; use one of {', '.join(STATUSES)}")
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(str(s) for s in wanted)
        if kinds is not None:
            wanted_kinds = [str(k) for k in kinds]
            where.append(f"kind IN ({', '.join('?' * len(wanted_kinds))})")
            params.extend(wanted_kinds)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._read() as conn:
            return self._records(conn, conn.execute(sql, params).fetchall())

    def delete(self, run_id: str) -> builtins.list[str]:
        """Remove a finished run: its row, its metrics and its artifact folder. Queued or running runs are refused.

        The folder is moved into the workspace's trash first, the run's data key is destroyed (so an encrypted copy
        left anywhere is unreadable), then the trash is removed; returns the files that could not be removed
        (retried by the next delete and by ``datasets purge``).
        """
        validate_run_id(run_id)
        require_editor("delete a run")
        with self._transaction() as conn:
            status = self._status(conn, run_id)
            if status in ACTIVE_STATUSES:
                raise RiskboardError(RUN_ACTIVE.format(run_id=run_id, status=status))
            conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM run_names WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        folder = self.runs_dir / run_id
        if folder.exists():
            try:
                erasure.move_into(erasure.new_trash(self.home), folder, run_id)
            except (OSError, RiskboardError) as exc:  # the row is gone; purge below names what stays
                log.warning("run %s deleted but its folder %s could not be moved to the trash: %s", run_id, folder, exc)
        shredded = bool(erasure.shred(self.home, [run_key_id(run_id)]))
        left = erasure.purge(self.home)
        if folder.exists():
            left.append(str(folder.relative_to(self.home)))
        activity.append(self.home, "run_deleted", run_id, {"key_destroyed": shredded, "leftovers": len(left)})
        return left

    def artifacts(self, run_id: str) -> RunArtifacts:
        """The run's files (see :class:`RunArtifacts`); the run must exist in the store, its folder need not."""
        validate_run_id(run_id)
        with self._read() as conn:
            self._status(conn, run_id)
        return RunArtifacts(self.runs_dir / run_id, run_id)

    def children(self, run_id: str) -> builtins.list[RunRecord]:
        """Runs derived from ``run_id`` (mitigations), oldest first."""
        validate_run_id(run_id)
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM runs WHERE parent_id = ? ORDER BY created_at, id", (run_id,)).fetchall()
            return self._records(conn, rows)

    @staticmethod
    def _records(conn: sqlite3.Connection, rows: builtins.list[sqlite3.Row]) -> builtins.list[RunRecord]:
        """Parsed rows, each with the name a person gave it (if any) from the names table."""
        names = read_names(conn, [row["id"] for row in rows])
        return [dataclasses.replace(RunRecord.from_row(row, _loads), custom_name=names.get(row["id"]))
                for row in rows]

    def rename(self, run_id: str, name: str | None) -> None:
        """Give a run a display name of the user's choosing; ``None`` (or blank) goes back to the built name."""
        validate_run_id(run_id)
        text = None if name is None or not str(name).strip() else clean_name(name)
        with self._transaction() as conn:
            self._status(conn, run_id)
            if text is None:
                conn.execute("DELETE FROM run_names WHERE run_id = ?", (run_id,))
            else:
                conn.execute("INSERT INTO run_names (run_id, name, updated_at) VALUES (?, ?, ?) ON CONFLICT (run_id) "
                             "DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                             (run_id, text, now_iso()))

    def artifact_dir(self, run_id: str, create: bool = True) -> Path:
        """``<home>/runs/<run_id>``; created on demand, but only for a run that exists (no orphan folders)."""
        validate_run_id(run_id)
        folder = self.runs_dir / run_id
        if create and not folder.is_dir():
            with self._read() as conn:
                self._status(conn, run_id)
            ensure_dir(folder)
        return folder

    # -- the worker's side -----------------------------------------------------------------------------------------

    def set_worker(self, run_id: str, pid: int) -> None:
        """Record the pid (and host) of the process that will run a queued run, so a dead one can be reaped."""
        validate_run_id(run_id)
        with self._write() as conn:
            conn.execute("UPDATE runs SET pid = ?, host = ? WHERE id = ? AND status = ?",
                         (pid, hostname(), run_id, QUEUED))

    def claim(self, run_id: str, pid: int, max_jobs: int) -> bool:
        """Move ``run_id`` from queued to running if a slot is free; True if this call took it.

        A slot is free when the running runs plus the queued runs created earlier (first come, first served) are
        fewer than ``max_jobs``. ``BEGIN IMMEDIATE`` makes check-and-set atomic across processes.
        """
        validate_run_id(run_id)
        with self._transaction() as conn:
            row = conn.execute("SELECT status, created_at FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise self._not_found(run_id)
            if row["status"] != QUEUED:
                return False
            busy = conn.execute(
                "SELECT COUNT(*) FROM runs WHERE status = ? OR (status = ? AND (created_at < ? OR "
                "(created_at = ? AND id < ?)))",
                (RUNNING, QUEUED, row["created_at"], row["created_at"], run_id)).fetchone()[0]
            if busy >= max_jobs:
                return False
            now = now_iso()
            conn.execute("UPDATE runs SET status = ?, started_at = ?, heartbeat_at = ?, pid = ?, host = ? "
                         "WHERE id = ? AND status = ?", (RUNNING, now, now, pid, hostname(), run_id, QUEUED))
            return True

    def set_device(self, run_id: str, device: str) -> None:
        """Record the device (``cuda``, ``mps``, ``cpu``, possibly with a reason) the run trains on."""
        validate_run_id(run_id)
        with self._write() as conn:
            if conn.execute("UPDATE runs SET device = ? WHERE id = ?", (device, run_id)).rowcount == 0:
                raise self._not_found(run_id)

    def heartbeat(self, run_id: str) -> bool:
        """Mark the worker of an active run as alive now; False if the run is no longer queued or running."""
        validate_run_id(run_id)
        with self._write() as conn:
            cur = conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status IN (?, ?)",
                               (now_iso(), run_id, *_ACTIVE))
            return cur.rowcount == 1

    def log_epoch(self, run_id: str, epoch: int, values: Mapping[str, float]) -> bool:
        """Store one epoch's metrics (replacing the same epoch if logged again) and refresh the heartbeat.

        Returns False, writing nothing, once the run is finished: a worker that is still winding down after a
        cancel or a reap cannot add points to a closed curve. NaN is stored and read back as NaN.
        """
        validate_run_id(run_id)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        rows = []
        for name, value in values.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"metric names must be non-empty strings, got {name!r}")
            rows.append((run_id, epoch, name, float(value)))
        with self._transaction() as conn:
            if self._status(conn, run_id) in TERMINAL_STATUSES:
                return False
            conn.executemany("INSERT OR REPLACE INTO metrics (run_id, epoch, name, value) VALUES (?, ?, ?, ?)", rows)
            conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = ?", (now_iso(), run_id, RUNNING))
        return True

    def epochs(self, run_id: str, *, after: int | None = None) -> builtins.list[dict[str, float]]:
        """One dict per epoch, ordered by epoch: ``{"epoch": n, "train_loss": ..., ...}``.

        ``after`` returns only epochs greater than it, so a polling page can fetch just the new points.
        """
        validate_run_id(run_id)
        sql, params = "SELECT epoch, name, value FROM metrics WHERE run_id = ?", [run_id]
        if after is not None:
            sql += " AND epoch > ?"
            params.append(int(after))
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY epoch, name", params).fetchall()
            if not rows:
                self._status(conn, run_id)
        out: builtins.list[dict[str, float]] = []
        for epoch, name, value in rows:
            if not out or out[-1]["epoch"] != epoch:
                out.append({"epoch": epoch})
            out[-1][name] = math.nan if value is None else value
        return out

    def finish(self, run_id: str, status: str, *, metrics: Mapping[str, Any] | None = None,
               error: str | None = None) -> bool:
        """Give an active run its terminal status; True if this call did it.

        Idempotent and first-writer-wins: a run that is already succeeded, failed or cancelled keeps its record
        (status, times, metrics, error) untouched and the call returns False.
        """
        validate_run_id(run_id)
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"finish() needs one of {', '.join(TERMINAL_STATUSES)}, got {status!r}")
        if error is not None and len(error) > _MAX_ERROR_CHARS:
            error = error[: _MAX_ERROR_CHARS - 3] + "..."
        starter = self.started_by(run_id)
        with self._transaction() as conn:  # the status and its activity entry commit together
            cur = conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, metrics = ?, error = ? "
                "WHERE id = ? AND status IN (?, ?)", (status, now_iso(), _dumps(metrics), error, run_id, *_ACTIVE))
            if cur.rowcount != 1:
                self._status(conn, run_id)
                return False
            activity.append_in(conn, _OUTCOME_ACTIONS[status], run_id, {"status": status}, actor=starter)
        activity.anchor(self.home)
        return True

    def started_by(self, run_id: str) -> str | None:
        """Who started the run (a worker finishing it acts in their name); also makes sure the log's table exists."""
        activity.prepare(self.home)
        started = activity.entries(self.home, subject=run_id, action="run_started")
        return started[0].actor if started else None

    def _log_outcome(self, run_id: str, status: str) -> None:
        activity.append(self.home, _OUTCOME_ACTIONS[status], run_id, {"status": status},
                        actor=self.started_by(run_id))

    # -- cancelling and reaping ------------------------------------------------------------------------------------

    def request_cancel(self, run_id: str) -> str:
        """Ask for a run to stop and return its status afterwards.

        A queued run is cancelled at once (its waiting worker then exits); a running run gets the flag and its
        worker stops at the next check; a finished run is left as it is.
        """
        validate_run_id(run_id)
        require_editor("cancel a run")
        with self._transaction() as conn:
            status = self._status(conn, run_id)
            if status == QUEUED:
                conn.execute("UPDATE runs SET status = ?, cancel_requested = 1, finished_at = ?, error = ? "
                             "WHERE id = ?", (CANCELLED, now_iso(), CANCELLED_BEFORE_START, run_id))
            elif status == RUNNING:
                conn.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))
        if status in (QUEUED, RUNNING):  # after the transaction: the log takes the write lock of its own
            activity.append(self.home, "run_cancelled", run_id, {"requested_while": status})
        return CANCELLED if status == QUEUED else status

    def cancel_requested(self, run_id: str) -> bool:
        """True if the user asked to cancel this run."""
        validate_run_id(run_id)
        with self._read() as conn:
            row = conn.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._not_found(run_id)
        return bool(row[0])

    def should_stop(self, run_id: str) -> bool:
        """True if a worker should stop this run: cancel requested, or the run already finished elsewhere
        (force-stopped, or reaped while its worker was merely slow), or the run was deleted."""
        validate_run_id(run_id)
        with self._read() as conn:
            row = conn.execute("SELECT cancel_requested, status FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row is None or bool(row[0]) or row[1] in TERMINAL_STATUSES

    def reap_stale(self, timeout_s: float) -> builtins.list[str]:
        """Mark active runs whose worker is gone as failed; return their ids.

        A worker is gone when its pid is recorded on this host and is dead, or when it has not sent a heartbeat
        (or, never having one, was created) more than ``timeout_s`` seconds ago. The second rule covers workers on
        other hosts and pids that were reused.
        """
        cutoff = iso(datetime.now(UTC) - timedelta(seconds=timeout_s))
        here = hostname()
        reaped: builtins.list[str] = []
        with self._read() as conn:  # the common case, nothing to reap, must not need write access
            candidates = conn.execute(
                "SELECT id, pid, host, heartbeat_at, created_at FROM runs WHERE status IN (?, ?)", _ACTIVE
            ).fetchall()
        if not any((r["pid"] is not None and r["host"] == here and not pid_alive(r["pid"]))
                   or (r["heartbeat_at"] or r["created_at"]) < cutoff for r in candidates):
            return reaped
        with self._transaction() as conn:
            rows = conn.execute("SELECT id, status, pid, host, heartbeat_at, created_at FROM runs "
                                "WHERE status IN (?, ?)", _ACTIVE).fetchall()
            for row in rows:
                dead = row["pid"] is not None and row["host"] == here and not pid_alive(row["pid"])
                silent = (row["heartbeat_at"] or row["created_at"]) < cutoff
                if not (dead or silent):
                    continue
                message = WORKER_LOST_QUEUED if row["status"] == QUEUED else WORKER_LOST
                conn.execute("UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status = ?",
                             (FAILED, now_iso(), message, row["id"], row["status"]))
                reaped.append(row["id"])
        for run_id in reaped:
            log.warning("run %s marked failed: its worker is gone", run_id)
            self._log_outcome(run_id, FAILED)
        return reaped

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _not_found(self, run_id: str) -> RunNotFoundError:
        return RunNotFoundError(RUN_NOT_FOUND.format(run_id=run_id, home=self.home))

    def _status(self, conn: sqlite3.Connection, run_id: str) -> str:
        row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._not_found(run_id)
        return str(row[0])
