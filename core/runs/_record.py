"""Run ids and the :class:`RunRecord` read back from the store.

Run ids are ``YYYYMMDD-HHMMSS-xxxxxx`` (UTC time + 6 random hex digits): they sort by creation time, fit in a URL
query parameter and a folder name, and are easy to read aloud. Every id that comes from outside (a URL, a CLI
argument) passes :func:`validate_run_id` before it touches a path or a query, so ``../x`` never names a folder.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.errors import RunNotFoundError
from core.runs._kinds import (
    ACTIVE_STATUSES,
    JOB_KINDS,
    MODEL_RUN_KINDS,
    OUTSIDE_KINDS,
    TERMINAL_STATUSES,
    RunKind,
    RunStatus,
    parse_kind,
)

RUN_ID_PATTERN = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")

INVALID_RUN_ID = "{run_id} is not a run id; run ids look like 20261129-094512-a1b2c3. Pick a run from the list of runs."


def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id: UTC creation time (sortable) plus 6 random hex digits (unique within a second)."""
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def validate_run_id(run_id: object) -> str:
    """Return ``run_id`` if it is well formed, else raise :class:`RunNotFoundError`.

    The regex admits only digits, a dash and lowercase hex, so a valid id can never escape the runs folder.
    """
    if isinstance(run_id, str) and RUN_ID_PATTERN.fullmatch(run_id):
        return run_id
    shown = repr(run_id)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise RunNotFoundError(INVALID_RUN_ID.format(run_id=shown))


def now_iso() -> str:
    """Current UTC time as a fixed-width ISO string, so string order in SQLite equals time order."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def iso(moment: datetime) -> str:
    """``moment`` (timezone-aware) in the store's fixed-width UTC ISO format."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class RunRecord:
    """One row of the run store, parsed: JSON columns as dicts, times as timezone-aware UTC datetimes.

    ``error`` says why a run did not succeed (a user-facing sentence, never a traceback); ``metrics`` holds the
    final metrics the task returned. ``pid``/``host`` name the worker process so a dead worker can be detected.
    """

    id: str
    kind: RunKind | str
    name: str | None
    dataset_id: str
    spec: dict[str, Any]
    config: dict[str, Any]
    task: str
    status: RunStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    device: str | None = None
    pid: int | None = None
    host: str | None = None
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    cancel_requested: bool = False
    parent_id: str | None = None
    custom_name: str | None = None

    @property
    def is_imported(self) -> bool:
        """True for a run whose scores came from a model trained elsewhere (no model, no training split)."""
        return self.kind == RunKind.IMPORT

    @property
    def is_uploaded_model(self) -> bool:
        """True for a run of an uploaded model file (ONNX): a model to run, but no training here to repeat."""
        return self.kind == RunKind.UPLOADED

    @property
    def is_outside(self) -> bool:
        """True for a run of a model trained elsewhere (scores or a model file): nothing here can retrain it."""
        return self.kind in OUTSIDE_KINDS

    @property
    def is_model_run(self) -> bool:
        """True for a run that is a model (trained here, imported scores, an uploaded model), not a job."""
        return self.kind in MODEL_RUN_KINDS

    @property
    def is_job(self) -> bool:
        """True for work done for a model run (an audit): never listed by a run picker."""
        return self.kind in JOB_KINDS

    @property
    def belongs_to(self) -> str | None:
        """The model run a job works for (an audit's target), or the parent of a derived run; None otherwise."""
        if self.is_job:
            target = (self.config or {}).get("target_run")
            return str(target) if target else self.parent_id
        return self.parent_id

    @property
    def is_finished(self) -> bool:
        """True once the run has a terminal status (succeeded, failed or cancelled)."""
        return self.status in TERMINAL_STATUSES

    @property
    def is_active(self) -> bool:
        """True while the run is queued or running."""
        return self.status in ACTIVE_STATUSES

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (or to now while running); None before it starts."""
        if self.started_at is None:
            return None
        end = self.finished_at or datetime.now(UTC)
        return max(0.0, (end - self.started_at).total_seconds())

    @classmethod
    def from_row(cls, row: Any, loads: Any) -> RunRecord:
        """Build a record from a ``sqlite3.Row``; ``loads`` parses the JSON columns."""
        return cls(
            id=row["id"],
            kind=parse_kind(row["kind"]),
            name=row["name"],
            dataset_id=row["dataset_id"],
            spec=loads(row["spec"]) or {},
            config=loads(row["config"]) or {},
            task=row["task"],
            status=RunStatus(row["status"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            started_at=_parse_time(row["started_at"]),
            finished_at=_parse_time(row["finished_at"]),
            heartbeat_at=_parse_time(row["heartbeat_at"]),
            device=row["device"],
            pid=row["pid"],
            host=row["host"],
            error=row["error"],
            metrics=loads(row["metrics"]) or {},
            cancel_requested=bool(row["cancel_requested"]),
            parent_id=row["parent_id"] if "parent_id" in row.keys() else None,  # noqa: SIM118 - Row iterates values
        )
