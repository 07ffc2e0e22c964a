"""What a run is and where it stands: one enum of run kinds, one of statuses.

A **model run** is something you can audit: a model trained here (``TRAIN``), scores of a model trained elsewhere
(``IMPORT``), or an uploaded model file (``UPLOADED``, e.g. ONNX). A **job** is work done *for* a model run (a
membership ``AUDIT``): its progress and failure belong to the job, its results to the run it names, so pickers list
model runs only and a job is shown with the run it belongs to. Both live in the same store table, so the values
are plain strings (``StrEnum``): they compare equal to what older workspaces stored.
"""

from __future__ import annotations

from enum import StrEnum


class RunKind(StrEnum):
    """The kind column of a run. Model runs first, then jobs."""

    TRAIN = "train"
    IMPORT = "import"
    UPLOADED = "uploaded"
    AUDIT = "audit"

    def __repr__(self) -> str:
        return repr(self.value)  # messages quote a kind as the user typed or stored it: 'audit'

    @property
    def is_model(self) -> bool:
        """True for a run with a model or its scores (something pickers list and analyses read)."""
        return self in MODEL_RUN_KINDS

    @property
    def label(self) -> str:
        """How the kind reads in a list or a report."""
        return _LABELS[self]


class RunStatus(StrEnum):
    """Every status a run or a job can have, in lifecycle order."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __repr__(self) -> str:
        return repr(self.value)


QUEUED = RunStatus.QUEUED
RUNNING = RunStatus.RUNNING
SUCCEEDED = RunStatus.SUCCEEDED
FAILED = RunStatus.FAILED
CANCELLED = RunStatus.CANCELLED
#: Every status a run can have, in lifecycle order.
STATUSES = tuple(RunStatus)
#: Statuses a run can still leave.
ACTIVE_STATUSES = (QUEUED, RUNNING)
#: Final statuses: once a run has one of these it never changes again.
TERMINAL_STATUSES = (SUCCEEDED, FAILED, CANCELLED)

#: Kinds that are models (pickers, reports, comparisons list only these).
MODEL_RUN_KINDS = (RunKind.TRAIN, RunKind.IMPORT, RunKind.UPLOADED)
#: Model runs of a model trained elsewhere (its scores, or the model file itself): nothing here can retrain them.
OUTSIDE_KINDS = (RunKind.IMPORT, RunKind.UPLOADED)
#: Kinds that are work done for a model run.
JOB_KINDS = (RunKind.AUDIT,)

_LABELS = {RunKind.TRAIN: "trained in Riskboard", RunKind.IMPORT: "imported scores",
           RunKind.UPLOADED: "uploaded model", RunKind.AUDIT: "membership audit"}


def parse_kind(value: str) -> RunKind | str:
    """The stored kind as a :class:`RunKind`; an unknown value (a newer workspace) stays a plain string."""
    try:
        return RunKind(value)
    except ValueError:
        return value
