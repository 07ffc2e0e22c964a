"""Warm workers: a standby process that has already imported the engine, so a click on Train starts at once.

A cold worker spends about 3.5 s importing torch and the training code before its first batch; on the demo that
is more than the training loop itself. A *standby* is an ordinary ``python -m core.jobs.worker`` process started
ahead of time: it imports what the tasks need (:data:`PRELOAD`), then blocks reading one line, a run id, from its
stdin. :func:`core.jobs.submit` hands the next run to it and starts a new standby for the run after.

Nothing else about a job changes: the standby claims the run, heartbeats and records its outcome through
:func:`core.jobs.execute` like any worker, writes its output to the run's ``worker.log``, and stopping it works
the same. :func:`core.jobs.force_stop` only signals a process that is provably the run's worker: a cold worker's
command line names the run; a standby, started before it had a run, writes a claim (its pid and process start
time) into the run's folder when it takes the run, and :func:`core.runs._host.is_worker_of` accepts that claim only
while the same process (same pid, same start time) is alive, so a reused pid is never signalled.

One standby at most per server process (it holds a few hundred MB once torch is imported), for one workspace and
job settings; it exits by itself when its parent goes away (its stdin closes). ``RISKBOARD_WARM_WORKER=0`` turns
standbys off.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from core.runs._host import WORKER_MODULE, write_claim

log = logging.getLogger(__name__)

STANDBY_FLAG = "--standby"
PRELOAD = ("core.training.pipeline",)  # torch, the models and the training loop: what a train task imports
WARM_ENV = "RISKBOARD_WARM_WORKER"

_lock = threading.Lock()
_standby: tuple[tuple, subprocess.Popen] | None = None


def warm_enabled() -> bool:
    return os.environ.get(WARM_ENV, "1").strip() != "0"


def _key(env: dict[str, str]) -> tuple:
    """What a standby was started for: the workspace, job limits and import path it must share with the run."""
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith("RISKBOARD_") or k == "PYTHONPATH"))


def _spawn(home: Path, env: dict[str, str]) -> subprocess.Popen:
    argv = [sys.executable, "-m", WORKER_MODULE, str(home), STANDBY_FLAG]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True, close_fds=True)
    threading.Thread(target=proc.wait, name="reap-standby", daemon=True).start()
    log.info("standby worker started: pid %d", proc.pid)
    return proc


def prewarm(home: Path, env: dict[str, str]) -> int | None:
    """Make sure a standby for this workspace and environment is starting or waiting; return its pid (or None
    when standbys are off). One for another workspace is stopped first."""
    global _standby
    if not warm_enabled():
        return None
    key = _key(env)
    with _lock:
        if _standby is not None:
            old_key, proc = _standby
            if old_key == key and proc.poll() is None:
                return proc.pid
            _stop(proc)
            _standby = None
        try:
            proc = _spawn(home, env)
        except OSError as exc:
            log.warning("could not start a standby worker: %s", exc)
            return None
        _standby = (key, proc)
        return proc.pid


def take(env: dict[str, str]) -> subprocess.Popen | None:
    """The waiting standby for this environment, removed from the pool; None if there is none alive."""
    global _standby
    with _lock:
        if _standby is None:
            return None
        key, proc = _standby
        if key != _key(env) or proc.poll() is not None:
            return None
        _standby = None
        return proc


def hand_over(proc: subprocess.Popen, run_id: str) -> bool:
    """Give ``run_id`` to a standby; False if it died meanwhile (the caller then starts a cold worker)."""
    try:
        assert proc.stdin is not None
        proc.stdin.write(f"{run_id}\n".encode())
        proc.stdin.close()
    except (OSError, ValueError):
        return False
    return proc.poll() is None


def _stop(proc: subprocess.Popen) -> None:
    """Stop a standby we started (closing its stdin is enough once it waits; a terminate covers the import)."""
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass
    if proc.poll() is None:
        proc.terminate()


@atexit.register
def shutdown() -> None:
    """Stop the waiting standby, if any (also done by the OS: its stdin closes when this process exits)."""
    global _standby
    with _lock:
        if _standby is not None:
            _stop(_standby[1])
            _standby = None


# -- the standby's own side ------------------------------------------------------------------------------------------


def wait_for_run() -> str | None:
    """In a standby: preload the engine, then block until a run id arrives (None: the parent went away)."""
    for module in PRELOAD:
        importlib.import_module(module)
    from core.device import warm_up_torch  # torch is imported by now (PRELOAD)

    warm_up_torch()
    line = sys.stdin.readline()
    return line.strip() or None


def become_worker_of(run_id: str, log_path: Path) -> None:
    """Take the run: claim it in its folder (for force_stop's check) and send output to its worker.log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    write_claim(log_path.parent)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
