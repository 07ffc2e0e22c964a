"""Entry point of a background worker process: ``python -m core.jobs.worker <home> <run_id>``.

Started by :func:`core.jobs.submit`; not imported by ``core.jobs`` (so ``-m`` runs it without a double import).
SIGTERM becomes :class:`~core.jobs._runner.WorkerTerminated`, so a terminated worker records its run as cancelled
instead of leaving it for the reaper. Exit status: 0 succeeded, 1 failed or cancelled, 2 bad arguments or unknown
run, 143 terminated.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

from core.errors import RunNotFoundError
from core.jobs import _standby
from core.jobs._runner import WORKER_LOG, WorkerTerminated, execute
from core.runs import SUCCEEDED, RunStore, validate_run_id

USAGE = "usage: python -m core.jobs.worker <riskboard home> <run id>  (or: <home> --standby)"


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise WorkerTerminated


def main(argv: list[str] | None = None) -> int:
    """Run one job to its end in this process; see the module docstring for the exit status."""
    args = sys.argv[1:] if argv is None else argv
    standby = len(args) == 2 and args[1] == _standby.STANDBY_FLAG
    if len(args) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    home = args[0]
    if standby:  # a warm worker: import the engine now, take a run when one is handed over (core.jobs._standby)
        run_id = _standby.wait_for_run()
        if run_id is None:
            return 0  # the server went away before there was a run for us
    else:
        run_id = args[1]
    try:
        validate_run_id(run_id)
        store = RunStore(Path(home))
        if standby:
            _standby.become_worker_of(run_id, store.artifact_dir(run_id) / WORKER_LOG)
        signal.signal(signal.SIGTERM, _on_sigterm)
        record = execute(store, run_id)
    except RunNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except WorkerTerminated:
        return 143
    return 0 if record.status == SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
