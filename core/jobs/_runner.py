"""The worker body: wait for a slot, heartbeat, call the task, record the outcome.

:func:`execute` is the one implementation of "run a job". The background worker process
(``python -m core.jobs.worker``) calls it, and so does :func:`run_inline` for the CLI, so ``python -m core train``
exercises exactly the code the dashboard's jobs run.

A task is any function ``task(store, run_id, *, should_stop) -> dict | None`` named by a ``"module:function"`` path.
It reads its inputs from the run's row, logs epochs with ``store.log_epoch``, writes files into
``store.artifact_dir(run_id)`` and returns the final metrics. When ``should_stop()`` turns true it must raise
:class:`~core.errors.RunCancelledError`; a task that returns normally succeeded, even if a cancel arrived while it
was returning (a cancel is a request, and the work is complete).

Outcomes: metrics returned -> succeeded; ``RunCancelledError`` -> cancelled; any other ``RiskboardError`` -> failed
with ``str(error)`` (it is written for users); anything else -> failed with a short "internal error: ..." line,
the traceback going to ``error.log`` in the run's folder, never into the message shown in the UI.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.config import Settings, get_settings
from core.errors import RiskboardError, RunCancelledError
from core.runs import CANCELLED, FAILED, QUEUED, SUCCEEDED, RunRecord, RunStore

log = logging.getLogger(__name__)

Task = Callable[..., Mapping[str, Any] | None]

HEARTBEAT_INTERVAL_S = 2.0
POLL_INTERVAL_S = 0.25
STOP_CHECK_INTERVAL_S = 0.5
REAP_INTERVAL_S = 5.0
WORKER_LOG = "worker.log"
ERROR_LOG = "error.log"

TASK_PATTERN = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
INVALID_TASK = "task must be a 'package.module:function' path, got {task!r}"
CANCELLED_BY_USER = "cancelled by the user"
INTERRUPTED = "stopped: the process running it was interrupted (Ctrl-C)"
TERMINATED = "stopped: the worker process received a termination signal"
INTERNAL_ERROR = "internal error: {kind}: {message} (the traceback is in error.log in the run's folder)"


class WorkerTerminated(BaseException):  # BaseException: a task cannot swallow it
    """Raised in the worker's main thread by its SIGTERM handler, so the run is recorded as cancelled."""


#: The tasks a worker may run. A run's row names its task, and a worker imports only names listed here (or added
#: with :func:`register_task`, or listed in ``RISKBOARD_EXTRA_TASKS`` by a test suite), so a tampered run store
#: cannot make a worker import arbitrary code. Each feature that adds a background job adds its task here.
REGISTERED_TASKS: set[str] = {
    "core.training.pipeline:execute_run",
    "core.privacy._audit_job:execute_audit",
    "core.fairness._imports:execute_import",
    "core.fairness._model_import:execute_model_import",
    "core.fairness._mitigation:execute_postprocess",
    "core.fairness._mitigation:execute_reweight",
    "core.fairness._reductions:execute_reductions",
}
EXTRA_TASKS_ENV = "RISKBOARD_EXTRA_TASKS"
UNKNOWN_TASK = "task {task!r} is not a registered Riskboard task; a worker runs only the tasks in REGISTERED_TASKS"


def register_task(task: str) -> str:
    """Allow ``task`` to run in this process (``run_inline``); background workers know only REGISTERED_TASKS."""
    REGISTERED_TASKS.add(check_task_path(task))
    return task


def is_registered(task: str) -> bool:
    """True for a registered task; ``RISKBOARD_EXTRA_TASKS`` may add exact names or ``module:*`` (tests only)."""
    if task in REGISTERED_TASKS:
        return True
    module = task.partition(":")[0]
    extras = {item.strip() for item in os.environ.get(EXTRA_TASKS_ENV, "").split(",") if item.strip()}
    return task in extras or f"{module}:*" in extras


def check_task_path(task: str) -> str:
    """Return ``task`` if it looks like ``module:function``; raise ``ValueError`` (a programming error) if not."""
    if not isinstance(task, str) or not TASK_PATTERN.fullmatch(task):
        raise ValueError(INVALID_TASK.format(task=task))
    return task


def load_task(task: str) -> Task:
    """Import a registered ``"package.module:function"`` (the function part may be dotted: ``Class.method``)."""
    if not is_registered(check_task_path(task)):
        raise ValueError(UNKNOWN_TASK.format(task=task))
    module_name, _, attr_path = task.partition(":")
    obj: Any = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        obj = getattr(obj, attr)
    if not callable(obj):
        raise TypeError(f"task {task!r} is not callable")
    return obj  # type: ignore[no-any-return]


def internal_error_message(exc: BaseException) -> str:
    """One short line for an unexpected exception: type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else "(no message)"
    if len(message) > 300:
        message = message[:297] + "..."
    return INTERNAL_ERROR.format(kind=type(exc).__name__, message=message)


class StopFlag:
    """The ``should_stop`` callable handed to a task: cached, so calling it once per batch costs no DB query.

    It asks the store at most every ``interval_s`` seconds and, once true, stays true. A failing read (which the
    busy timeout makes unlikely) keeps the last answer rather than crashing the training loop.
    """

    def __init__(self, store: RunStore, run_id: str, interval_s: float = STOP_CHECK_INTERVAL_S) -> None:
        self._store, self._run_id, self._interval_s = store, run_id, interval_s
        self._lock = threading.Lock()
        self._checked_at = -float("inf")
        self._stop = False

    def __call__(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if not self._stop and now - self._checked_at >= self._interval_s:
                self._checked_at = now
                try:
                    self._stop = self._store.should_stop(self._run_id)
                except Exception as exc:  # noqa: BLE001 - a transient read error must not kill training
                    log.warning("could not check whether run %s should stop: %s", self._run_id, exc)
            return self._stop


class _Heartbeat:
    """A daemon thread that touches the run's ``heartbeat_at`` every few seconds. It only ever writes to the DB."""

    def __init__(self, store: RunStore, run_id: str, interval_s: float = HEARTBEAT_INTERVAL_S) -> None:
        self._store, self._run_id, self._interval_s = store, run_id, interval_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def _loop(self) -> None:
        while not self._done.wait(self._interval_s):
            try:
                self._store.heartbeat(self._run_id)
            except Exception as exc:  # noqa: BLE001 - keep beating; the reaper decides if silence lasts too long
                log.warning("heartbeat of run %s failed: %s", self._run_id, exc)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)


@contextmanager
def _run_logging(folder: Path) -> Iterator[None]:
    """Send the ``core`` loggers (ours and the task's) to ``<run folder>/worker.log`` while the run executes."""
    handler = logging.FileHandler(folder / WORKER_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    core_logger = logging.getLogger("core")
    old_level = core_logger.level
    if core_logger.getEffectiveLevel() > logging.INFO:
        core_logger.setLevel(logging.INFO)
    core_logger.addHandler(handler)
    try:
        yield
    finally:
        core_logger.removeHandler(handler)
        core_logger.setLevel(old_level)
        handler.close()


def _write_error_log(folder: Path, exc: BaseException) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(exc))
    with open(folder / ERROR_LOG, "a", encoding="utf-8") as fh:
        fh.write(f"--- {stamp} pid {os.getpid()}\n{text}\n")


def _wait_for_slot(store: RunStore, run_id: str, pid: int, max_jobs: int, settings: Settings) -> bool:
    """Poll :meth:`RunStore.claim` until it succeeds (True) or the run leaves ``queued`` (False: cancelled, reaped,
    or taken by another worker). While waiting it heartbeats, so the reaper knows it is alive, and reaps dead
    runs itself, so a crashed run ahead in the queue cannot block it forever."""
    last_beat = last_reap = time.monotonic()
    announced = False
    while not store.claim(run_id, pid, max_jobs):
        if store.get(run_id).status != QUEUED:
            return False
        if not announced:
            log.info("run %s waits for a free slot (at most %d jobs at a time)", run_id, max_jobs)
            announced = True
        now = time.monotonic()
        if now - last_beat >= HEARTBEAT_INTERVAL_S:
            store.heartbeat(run_id)
            last_beat = now
        if now - last_reap >= REAP_INTERVAL_S:
            store.reap_stale(settings.heartbeat_timeout_s)
            last_reap = now
        time.sleep(POLL_INTERVAL_S)
    return True


def _call_task(store: RunStore, run_id: str, task: str | Task, folder: Path) -> None:
    """Import and call the task, then record exactly one outcome (first writer wins in the store)."""
    name = task if isinstance(task, str) else getattr(task, "__qualname__", repr(task))
    log.info("run %s: starting task %s in pid %d", run_id, name, os.getpid())
    try:
        fn = load_task(task) if isinstance(task, str) else task
        result = fn(store, run_id, should_stop=StopFlag(store, run_id))
        if result is not None and not isinstance(result, Mapping):
            raise TypeError(f"task {name} returned a {type(result).__name__}, expected a dict of metrics or None")
    except RunCancelledError as exc:
        outcome, fields = CANCELLED, {"error": str(exc) or CANCELLED_BY_USER}
    except RiskboardError as exc:
        outcome, fields = FAILED, {"error": str(exc) or type(exc).__name__}
    except (KeyboardInterrupt, WorkerTerminated):
        raise
    except BaseException as exc:  # anything else is our bug: short message, traceback to a file
        _write_error_log(folder, exc)
        log.exception("run %s: task raised", run_id)
        store.finish(run_id, FAILED, error=internal_error_message(exc))
        if not isinstance(exc, Exception):
            raise  # SystemExit and friends still end the process
        return
    else:
        outcome, fields = SUCCEEDED, {"metrics": dict(result or {})}
    if store.finish(run_id, outcome, **fields):
        log.info("run %s %s", run_id, outcome)
    else:
        log.info("run %s was already %s; outcome %s not recorded", run_id, store.get(run_id).status, outcome)


def execute(store: RunStore, run_id: str, *, task: str | Task | None = None, settings: Settings | None = None,
            wait_for_slot: bool = True) -> RunRecord:
    """Run ``run_id`` in this process and return its final record.

    ``task`` defaults to the path stored in the run's row. With ``wait_for_slot`` the run queues behind others until
    fewer than ``settings.max_jobs`` run; without it the run starts at once, over the limit if need be.
    Ctrl-C or SIGTERM records the run as cancelled and is re-raised.
    """
    settings = settings or get_settings()
    record = store.get(run_id)
    if record.is_finished:
        return record
    folder = store.artifact_dir(run_id)
    pid = os.getpid()
    with _run_logging(folder):
        try:
            if not _wait_for_slot(store, run_id, pid, settings.max_jobs if wait_for_slot else sys.maxsize, settings):
                final = store.get(run_id)
                log.info("run %s is %s; nothing to run", run_id, final.status)
                return final
            with _Heartbeat(store, run_id):
                _call_task(store, run_id, task or record.task, folder)
        except KeyboardInterrupt:
            store.finish(run_id, CANCELLED, error=INTERRUPTED)
            raise
        except WorkerTerminated:
            store.finish(run_id, CANCELLED, error=TERMINATED)
            log.info("run %s stopped by SIGTERM", run_id)
            raise
    return store.get(run_id)


def run_inline(store: RunStore, run_id: str, task: str | Task | None = None, *, settings: Settings | None = None,
               wait_for_slot: bool = True) -> RunRecord:
    """Run a queued run synchronously in this process: the CLI's path, the same body as the background worker.

    By default it waits for a slot like any job, so the CLI respects ``RISKBOARD_MAX_JOBS`` on a machine where the
    dashboard is also training; pass ``wait_for_slot=False`` to start at once (CI, where nothing else runs).
    """
    return execute(store, run_id, task=task, settings=settings, wait_for_slot=wait_for_slot)
