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


def is_worker_of(pid: int, run_id: str) -> bool:
    """True if ``pid`` is a ``python -m core.jobs.worker ... <run_id>`` process (checked before we kill it)."""
    argv = command_line(pid)
    return argv is not None and WORKER_MODULE in argv and run_id in argv
