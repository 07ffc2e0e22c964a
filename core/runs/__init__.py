"""Run store: SQLite (WAL) rows plus an artifact folder per run. See :mod:`core.runs._store` for the design."""

from core.runs._artifacts import MANIFEST, RunArtifacts
from core.runs._record import (
    ACTIVE_STATUSES,
    CANCELLED,
    FAILED,
    IMPORT_KIND,
    OUTSIDE_KINDS,
    QUEUED,
    RUNNING,
    STATUSES,
    SUCCEEDED,
    TERMINAL_STATUSES,
    UPLOADED_KIND,
    RunRecord,
    validate_run_id,
)
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
    "IMPORT_KIND",
    "MANIFEST",
    "OUTSIDE_KINDS",
    "QUEUED",
    "RUNNING",
    "RUN_ACTIVE",
    "RUN_NOT_FOUND",
    "SCHEMA_VERSION",
    "STATUSES",
    "SUCCEEDED",
    "TERMINAL_STATUSES",
    "UPLOADED_KIND",
    "WORKER_LOST",
    "WORKER_LOST_QUEUED",
    "RunArtifacts",
    "RunRecord",
    "RunStore",
    "validate_run_id",
]
