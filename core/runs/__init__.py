"""Run store: SQLite (WAL) rows plus an artifact folder per run. See :mod:`core.runs._store` for the design."""

from core.runs._artifacts import MANIFEST, RunArtifacts
from core.runs._cache import read_cache, write_cache
from core.runs._kinds import (
    ACTIVE_STATUSES,
    CANCELLED,
    FAILED,
    JOB_KINDS,
    MODEL_RUN_KINDS,
    OUTSIDE_KINDS,
    QUEUED,
    RUNNING,
    STATUSES,
    SUCCEEDED,
    TERMINAL_STATUSES,
    RunKind,
    RunStatus,
)
from core.runs._names import MAX_NAME_CHARS
from core.runs._record import RunRecord, validate_run_id
from core.runs._schema import SCHEMA_VERSION
from core.runs._store import (
    CANCELLED_BEFORE_START,
    RUN_ACTIVE,
    RUN_NOT_FOUND,
    WORKER_LOST,
    WORKER_LOST_QUEUED,
    RunStore,
)

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELLED",
    "CANCELLED_BEFORE_START",
    "FAILED",
    "JOB_KINDS",
    "MANIFEST",
    "MAX_NAME_CHARS",
    "MODEL_RUN_KINDS",
    "OUTSIDE_KINDS",
    "QUEUED",
    "RUNNING",
    "RUN_ACTIVE",
    "RUN_NOT_FOUND",
    "SCHEMA_VERSION",
    "STATUSES",
    "SUCCEEDED",
    "TERMINAL_STATUSES",
    "WORKER_LOST",
    "WORKER_LOST_QUEUED",
    "RunArtifacts",
    "RunKind",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "read_cache",
    "validate_run_id",
    "write_cache",
]
