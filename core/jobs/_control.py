"""Starting, cancelling, force-stopping and reaping background jobs.

Why ``subprocess.Popen([python, -m, core.jobs.worker, home, run_id], start_new_session=True)`` rather than a
``multiprocessing`` "spawn" ``Process``: both start a fresh interpreter (never fork: torch and threads), but

* spawn re-imports the parent's ``__main__`` in the child; under ``streamlit run`` that is Streamlit's own entry
  script, and under pytest it is pytest. ``-m core.jobs.worker`` imports only our worker module.
* ``multiprocessing`` joins every non-daemon child when the parent exits, so stopping the app would hang until all
  training finished; a ``Popen`` child in its own session is independent: Ctrl-C on the app's terminal does not
  reach it, it survives a Streamlit rerun (nothing ties it to the script thread) and even an app restart, after
  which the run is still in the store and still live.
* the worker's command line carries the run id, so :func:`force_stop` can check ``/proc/<pid>/cmdline`` before it
  sends a signal, and never kills an unrelated process that reused the pid.

Stdout/stderr of the worker are appended to ``worker.log`` in the run's folder, so even a crash before logging is
set up (a bad import) leaves a trace. A daemon thread waits on each child so a finished worker is not left a zombie.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import core
from core.config import Settings, get_settings
from core.errors import RiskboardError, TrainingError, WorkspaceError
from core.jobs import _standby
from core.jobs._runner import UNKNOWN_TASK, WORKER_LOG, check_task_path, is_registered
from core.runs import CANCELLED, FAILED, RunRecord, RunStatus, RunStore
from core.runs._host import WORKER_MODULE, hostname, is_worker_of, pid_alive

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(core.__file__).resolve().parent.parent
FORCE_STOPPED = "cancelled by the user; the worker did not stop in time and was terminated"
WORKER_GONE = "cancelled by the user; its worker process had already exited"
START_FAILED = "the worker process could not be started: {error}"
NOT_OUR_WORKER = ("run {run_id} is running in process {pid}, which is not a Riskboard background worker for this run "
                  "(for example a `python -m core train` in a terminal, or another machine); stop it there.")


def _worker_env(store: RunStore, settings: Settings) -> dict[str, str]:
    """The child's environment: ours, plus the store's home and job limits, and the project root on the path."""
    env = dict(os.environ)
    env["RISKBOARD_HOME"] = str(store.home.resolve())
    env["RISKBOARD_MAX_JOBS"] = str(settings.max_jobs)
    env["RISKBOARD_HEARTBEAT_TIMEOUT_S"] = str(settings.heartbeat_timeout_s)
    paths = [str(PROJECT_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def submit(store: RunStore, *, kind: str, dataset_id: str, spec: Mapping[str, Any], config: Mapping[str, Any],
           task: str, settings: Settings | None = None, name: str | None = None, parent_id: str | None = None,
           files: Mapping[str, Any] | None = None) -> str:
    """Create a queued run and start its worker process; return the run id at once.

    The worker waits for a slot (``settings.max_jobs``), then calls ``task`` (a ``"module:function"`` path).
    ``parent_id`` links a derived run (a mitigation) to its parent; ``files`` are JSON artifacts written before the
    worker starts (a task's inputs that are not training settings, such as the mitigation to apply).
    """
    if not is_registered(check_task_path(task)):
        raise ValueError(UNKNOWN_TASK.format(task=task))
    settings = settings or get_settings()
    run_id = store.create_run(kind=kind, dataset_id=dataset_id, spec=spec, config=config, task=task, name=name,
                              parent_id=parent_id)
    for file_name, payload in (files or {}).items():
        store.artifacts(run_id).write_json(file_name, payload)
    folder = store.artifact_dir(run_id)
    env = _worker_env(store, settings)
    proc = _standby.take(env)  # a warm worker that has already imported the engine, if one is waiting
    warm = proc is not None and _standby.hand_over(proc, run_id)
    if not warm:
        argv = [sys.executable, "-m", WORKER_MODULE, str(store.home.resolve()), run_id]
        try:
            with open(folder / WORKER_LOG, "ab") as out:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                        env=env, start_new_session=True, close_fds=True)
        except OSError as exc:
            message = START_FAILED.format(error=exc)
            store.finish(run_id, FAILED, error=message)
            raise TrainingError(message) from exc
        threading.Thread(target=proc.wait, name=f"reap-worker-{run_id}", daemon=True).start()
    store.set_worker(run_id, proc.pid)
    log.info("run %s submitted: %s worker pid %d, task %s", run_id, "warm" if warm else "cold", proc.pid, task)
    if warm:
        _standby.prewarm(store.home.resolve(), env)  # and the next click finds one waiting too
    return run_id


def prewarm(store: RunStore, settings: Settings | None = None) -> int | None:
    """Start a standby worker for this workspace if none is waiting, so the next :func:`submit` starts at once
    (see :mod:`core.jobs._standby`); the Train page calls it when it shows the form. Returns its pid or None."""
    return _standby.prewarm(store.home.resolve(), _worker_env(store, settings or get_settings()))


def wait_for(store: RunStore, run_id: str, *, timeout_s: float | None = None, poll_s: float = 0.2) -> RunRecord:
    """Poll until the run is finished or ``timeout_s`` passes; return the latest record either way."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        record = store.get(run_id)
        if record.is_finished or (deadline is not None and time.monotonic() >= deadline):
            return record
        time.sleep(poll_s)


def cancel(store: RunStore, run_id: str, *, wait_s: float = 0.0) -> RunRecord:
    """Ask a run to stop. Non-blocking by default; with ``wait_s`` wait up to that long for it to finish.

    A queued run is cancelled at once. A running one stops when its task next calls ``should_stop()`` (within about
    half a second of the next batch); if it does not, the caller may use :func:`force_stop`.
    """
    store.request_cancel(run_id)
    return wait_for(store, run_id, timeout_s=wait_s) if wait_s > 0 else store.get(run_id)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the worker's process group (it leads its own session), reaching any helper processes it started."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def force_stop(store: RunStore, run_id: str, *, grace_s: float = 3.0) -> bool:
    """Cancel a run now, killing its worker if need be; True if a process was signalled.

    The run is marked cancelled *before* the signal, so whatever the dying worker tries to record afterwards is
    ignored. The pid is only signalled after checking that it is this run's ``core.jobs.worker`` on this host:
    SIGTERM (the worker records nothing further and exits), then SIGKILL after ``grace_s``. A run executed by
    some other process (the CLI, another host) is not killed: :class:`RiskboardError` says where to stop it.
    """
    if store.request_cancel(run_id) != RunStatus.RUNNING:
        return False
    record = store.get(run_id)
    pid = record.pid
    if pid is None or record.host != hostname():
        raise RiskboardError(NOT_OUR_WORKER.format(run_id=run_id, pid=pid))
    if not pid_alive(pid):
        store.finish(run_id, CANCELLED, error=WORKER_GONE)
        return False
    if not is_worker_of(pid, run_id, store.runs_dir / run_id):
        raise RiskboardError(NOT_OUR_WORKER.format(run_id=run_id, pid=pid))
    store.finish(run_id, CANCELLED, error=FORCE_STOPPED)
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        log.warning("run %s: worker %d ignored SIGTERM for %.1f s; sending SIGKILL", run_id, pid, grace_s)
        _signal_group(pid, signal.SIGKILL)
    return True


def refresh(store: RunStore, settings: Settings | None = None) -> list[str]:
    """Mark runs whose worker died as failed (pages and the CLI call this before listing runs); return their ids."""
    settings = settings or get_settings()
    try:
        return store.reap_stale(settings.heartbeat_timeout_s)
    except WorkspaceError as exc:  # a read-only workspace still lists its runs; reaping waits for a writable one
        log.warning("could not mark dead runs as failed: %s", exc)
        return []
