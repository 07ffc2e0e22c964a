"""The membership audit as a background job: a worker process trains the K reference models while the page polls.

A job is a run of kind ``"audit"`` whose config names the audited run, the attack and K. Progress goes to the
store as epoch rows (``{"progress": fraction}``), so the page shows a bar and the time left without any streamlit
call off the script thread; the result is written as the audited run's cached artifact, which the page then reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.privacy._audit import DEFAULT_REFERENCE_MODELS, check_attack
from core.privacy._run import audit_run
from core.runs import ACTIVE_STATUSES, RunKind, RunStatus
from core.timeleft import time_left

AUDIT_TASK = "core.privacy._audit_job:execute_audit"
AUDIT_KIND = RunKind.AUDIT


@dataclass(frozen=True)
class AuditProgress:
    status: str
    fraction: float
    remaining_s: float | None
    error: str | None


def submit_audit(store: Any, run_id: str, *, attack: str = "reference",
                 reference_models: int = DEFAULT_REFERENCE_MODELS, settings: Any = None) -> str:
    """Start the audit of ``run_id`` in a worker process; returns the job's id at once."""
    from core import jobs

    check_attack(attack, reference_models)
    target = store.get(run_id)
    return jobs.submit(store, kind=AUDIT_KIND, dataset_id=target.dataset_id, spec=target.spec or {},
                       config={"target_run": run_id, "attack": attack, "reference_models": int(reference_models)},
                       task=AUDIT_TASK, settings=settings, name=f"audit of {run_id}")


def execute_audit(store: Any, job_id: str, *, should_stop: Callable[[], bool] | None = None) -> dict:
    """Worker task: run the audit (cached into the audited run's artifacts) and return its headline numbers."""
    from core.jobs import Placement, executor_name, record_placement

    config = store.get(job_id).config or {}
    record_placement(store, job_id, Placement(executor=executor_name()))  # reference models go where jobs go
    step = {"n": 0}

    def progress(fraction: float, message: str) -> None:
        step["n"] += 1
        store.log_epoch(job_id, step["n"], {"progress": float(fraction)})

    result = audit_run(store, str(config["target_run"]), attack=str(config.get("attack", "reference")),
                       reference_models=int(config.get("reference_models", DEFAULT_REFERENCE_MODELS)),
                       progress=progress, should_stop=should_stop, use_cache=False)
    main = result.main
    return {"attack_auc": main.auc, "epsilon_lower_bound": main.epsilon_lower_bound, "seconds": result.seconds}


def audit_progress(store: Any, job_id: str) -> AuditProgress:
    """One poll of an audit job: status, fraction done and an estimate of the time left."""
    record = store.get(job_id)
    rows = store.epochs(job_id)
    fraction = max([float(r.get("progress", 0.0)) for r in rows] + [0.0])
    remaining = None
    started = getattr(record, "started_at", None)
    if started and 0.05 < fraction < 1:
        from datetime import UTC, datetime

        begun = started if isinstance(started, datetime) else datetime.fromisoformat(str(started))
        elapsed = (datetime.now(UTC) - begun).total_seconds()
        remaining = time_left(elapsed, fraction, 1.0)
    if record.status == RunStatus.SUCCEEDED:
        fraction = 1.0
    return AuditProgress(record.status, fraction, remaining, record.error)


def wait_audit(store: Any, job_id: str, timeout_s: float = 600) -> AuditProgress:
    """Block until the audit job ends (tests and scripts)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        progress = audit_progress(store, job_id)
        if progress.status not in ACTIVE_STATUSES:
            return progress
        time.sleep(0.2)
    return audit_progress(store, job_id)
