"""Step functions the Ray executor tests send to Ray workers (shipped there with the ``tests`` package)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from core.errors import TrainingError
from core.jobs import run_step

WAIT_LIMIT_S = 120.0


def emit_then_sleep(*, emit: Callable, should_stop: Callable[[], bool]) -> str:
    """Emit one event, then sleep ignoring ``should_stop``: only ``ray.cancel`` can end it early."""
    emit({"epoch": 1})
    deadline = time.monotonic() + WAIT_LIMIT_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return "slept to the end"


def emit_until_stopped(*, emit: Callable, should_stop: Callable[[], bool]) -> str:
    """Emit one event, then wait for the stop flag the driver sets (the step's own ``should_stop``)."""
    emit({"epoch": 1})
    deadline = time.monotonic() + WAIT_LIMIT_S
    while time.monotonic() < deadline:
        if should_stop():
            return "stopped"
        time.sleep(0.05)
    return "never stopped"


def die(*, emit: Callable, should_stop: Callable[[], bool]) -> None:
    """The worker process vanishes (a segfault, the OOM killer) mid-task."""
    emit({"epoch": 1})
    os._exit(3)


def diverge(*, emit: Callable, should_stop: Callable[[], bool]) -> None:
    raise TrainingError("the training loss became NaN at epoch 2; lower the learning rate")


def dies_on_ray(store, run_id: str, *, should_stop: Callable[[], bool]) -> dict:
    """A job task whose heavy step dies on Ray: the run must end failed with the reason."""
    store.set_device(run_id, "cpu")
    return run_step(die, should_stop=should_stop)
