"""Benchmark: how soon a click on Train shows something, cold worker vs warm (standby) worker, same run.

For the demo (UCI Adult, its saved spec, default settings) it measures, from the moment the page calls
``jobs.submit`` (the click):

* click -> first point: the first epoch is in the run store (the page's live view polls every second, so the
  chart shows it at most a second later);
* click -> result: the run has finished and its metrics are stored;
* the training loop's own time (``fit()``'s clock at the last epoch), i.e. what is left once start-up is gone;
* the time-left estimate shown at the second epoch, against the time the run really still took: the old formula
  (elapsed since start / epochs done x epochs to go) and the new one (:func:`core.training.progress.run_progress`).

``cold`` is a fresh ``python -m core.jobs.worker`` per run (``RISKBOARD_WARM_WORKER=0``, the behaviour before);
``warm`` hands the run to a standby started when the page showed the form (``jobs.prewarm``), given ``--think``
seconds (default 10) to import the engine, as a user reading the form would. Runs alternate cold/warm; each row is
the median of ``--repeats`` (default 3).

Usage: ``python bench/bench_feedback.py [--repeats 3] [--think 10]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_run(runs, spec, *, warm: bool, think: float, settings) -> dict:
    from core import jobs
    from core.jobs import _standby
    from core.training.config import TrainConfig
    from core.training.pipeline import TASK
    from core.training.progress import run_progress

    os.environ[_standby.WARM_ENV] = "1" if warm else "0"
    if warm:
        jobs.prewarm(runs, settings)
        time.sleep(think)
    clicked = time.perf_counter()
    run_id = jobs.submit(runs, kind="train", dataset_id=spec.dataset_id, spec=spec.to_dict(),
                         config=TrainConfig().to_dict(), task=TASK, settings=settings)
    first = estimate_at = None
    old_estimate = new_estimate = None
    while True:
        record = runs.get(run_id)
        history = runs.epochs(run_id)
        now = time.perf_counter()
        if first is None and history:
            first = now - clicked
        if estimate_at is None and len(history) >= 2 and record.status == "running":
            estimate_at = now
            epoch, total = int(history[-1]["epoch"]), int(record.config["epochs"])
            started = record.started_at if isinstance(record.started_at, datetime) else datetime.fromisoformat(
                str(record.started_at))
            started = started if started.tzinfo else started.replace(tzinfo=UTC)
            elapsed = (datetime.now(UTC) - started).total_seconds()
            old_estimate = elapsed / epoch * (total - epoch)
            progress = run_progress(record, history)
            new_estimate = progress.remaining_s
            likely = progress.stops_within_s
        if record.is_finished:
            break
        time.sleep(0.02)
    done = time.perf_counter()
    assert record.status == "succeeded", record.error
    loop = float(history[-1].get("seconds", float("nan")))
    return {"first": first, "result": done - clicked, "loop": loop, "epochs": len(history),
            "left_actual": (done - estimate_at) if estimate_at else float("nan"),
            "old_estimate": old_estimate, "new_estimate": new_estimate, "likely": likely if estimate_at else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--think", type=float, default=10.0)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="riskboard-bench-feedback-"))
    os.environ["RISKBOARD_HOME"] = str(home)
    from core.config import get_settings
    from core.data.demo import ensure_demo
    from core.data.store import DatasetStore
    from core.jobs import _standby
    from core.runs import RunStore

    settings = get_settings()
    _, spec = ensure_demo(DatasetStore(home))
    runs = RunStore(home)
    results: dict[str, list[dict]] = {"cold": [], "warm": []}
    for _ in range(args.repeats):
        for mode in ("cold", "warm"):
            results[mode].append(one_run(runs, spec, warm=mode == "warm", think=args.think, settings=settings))
    _standby.shutdown()

    def med(rows, key):
        values = [r[key] for r in rows if r[key] is not None]
        return statistics.median(values) if values else float("nan")

    print(f"Adult demo ({spec.name}), default settings, median of {args.repeats}; cpu count {os.cpu_count()}")
    print(f"{'worker':<6} {'click->first point':>19} {'click->result':>14} {'training loop':>14} {'epochs':>7} "
          f"{'left at epoch 2':>16} {'old estimate':>13} {'new estimate (at most / likely)':>32}")
    for mode, rows in results.items():
        print(f"{mode:<6} {med(rows, 'first'):>17.2f} s {med(rows, 'result'):>12.2f} s {med(rows, 'loop'):>12.2f} s "
              f"{med(rows, 'epochs'):>7.0f} {med(rows, 'left_actual'):>14.2f} s {med(rows, 'old_estimate'):>11.1f} s "
              f"{med(rows, 'new_estimate'):>17.1f} s / {med(rows, 'likely'):>5.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
