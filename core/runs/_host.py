"""Questions about processes on this machine: is a pid alive, and is it the worker of a given run.

A pid is only meaningful on the host that recorded it, so callers compare :func:`hostname` first. ``psutil`` is not
a dependency: liveness uses ``os.kill(pid, 0)`` plus ``/proc/<pid>/stat`` (a killed child of ours stays a zombie
until its parent reaps it, and ``os.kill`` still succeeds on a zombie).
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

WORKER_MODULE = "core.jobs.worker"


def hostname() -> str:
    """This machine's name, as stored beside a worker pid."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this host and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    stat = Path(f"/proc/{pid}/stat")
    try:
        # Format: "pid (comm) state ..."; comm may hold spaces or parentheses, so split after the last ')'.
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def command_line(pid: int) -> list[str] | None:
    """The argv of process ``pid`` (``/proc`` on Linux, ``ps`` elsewhere), or None if it cannot be read."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.exists():
        try:
            raw = proc.read_bytes()
        except OSError:
            return None
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    try:  # pragma: no cover - macOS and other systems without /proc
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5,
                             check=False)
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        return None
    return out.stdout.split() or None  # pragma: no cover


CLAIM_FILE = "worker.claim"


def process_started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, field 22 of ``/proc/<pid>/stat``), as text; with the
    pid it names one process for good, since a pid is reused only by a later process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def write_claim(folder: Path) -> None:
    """Record in a run's folder that this process (pid and start time) runs it: how a warm standby worker, whose
    command line was written before it had a run, is recognised as the run's worker."""
    from core.storage import atomic_write_text

    atomic_write_text(folder / CLAIM_FILE, f"{os.getpid()} {process_started(os.getpid()) or ''}\n")


def _claimed(folder: Path, pid: int) -> bool:
    try:
        recorded = (folder / CLAIM_FILE).read_text().split()
    except OSError:
        return False
    started = process_started(pid)
    return len(recorded) == 2 and recorded[0] == str(pid) and started is not None and recorded[1] == started


def is_worker_of(pid: int, run_id: str, folder: Path | None = None) -> bool:
    """True if ``pid`` is this run's ``core.jobs.worker`` (checked before we kill it): its command line names the
    run, or (a standby that took the run) the run's ``folder`` holds its claim with the same pid and start time."""
    argv = command_line(pid)
    if argv is None or WORKER_MODULE not in argv:
        return False
    return run_id in argv or (folder is not None and _claimed(folder, pid))
