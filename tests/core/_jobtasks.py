"""Tiny task functions for the job runner's tests, named by ``tests.core._jobtasks:<name>``.

They stand in for ``core.training.pipeline:execute_run`` with the same signature, and read their knobs from the
run's config, so a test steers a worker process without touching it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from core.errors import RunCancelledError, TrainingError
from core.runs import RunStore

MODULE = "tests.core._jobtasks"
StopFn = Callable[[], bool]


def quick(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """Three epochs at once, then success."""
    store.set_device(run_id, "cpu")
    for epoch in range(3):
        store.log_epoch(run_id, epoch, {"train_loss": 1.0 / (epoch + 1), "val_loss": 1.2 / (epoch + 1)})
    return {"roc_auc": 0.9, "epochs_run": 3.0}


def slow(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """``config["epochs"]`` epochs of ``config["sleep"]`` seconds each; honours should_stop between epochs."""
    config = store.get(run_id).config
    for epoch in range(int(config.get("epochs", 200))):
        if should_stop():
            raise RunCancelledError(f"cancelled by the user at epoch {epoch}")
        store.log_epoch(run_id, epoch, {"train_loss": 1.0 / (epoch + 1)})
        time.sleep(float(config.get("sleep", 0.05)))
    return {"epochs_run": float(config.get("epochs", 200))}


def gated(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """Runs until the file ``config["gate"]`` exists (at most 30 s), so a test decides when it finishes."""
    gate = Path(store.get(run_id).config["gate"])
    deadline = time.monotonic() + 30
    while not gate.exists():
        if should_stop():
            raise RunCancelledError("cancelled by the user")
        if time.monotonic() > deadline:
            raise TrainingError("gate file never appeared")
        time.sleep(0.05)
    return {"gated": 1.0}


def hang(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """Logs one epoch, then sleeps without ever checking should_stop (an unresponsive task)."""
    store.log_epoch(run_id, 0, {"train_loss": 1.0})
    time.sleep(60)
    return {}


def stubborn(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """Like :func:`hang`, but ignores SIGTERM too: only SIGKILL ends it."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return hang(store, run_id, should_stop=should_stop)


def user_error(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """Fails the way training fails for a reason the user can fix."""
    store.log_epoch(run_id, 0, {"train_loss": float("nan")})
    raise TrainingError("the loss became NaN at epoch 0; lower the learning rate")


def crash(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """Fails with a bug (an unexpected exception)."""
    raise ValueError("boom: shape mismatch (3,) vs (4,)\nsecond line of detail")


def wrong_return(store: RunStore, run_id: str, *, should_stop: StopFn) -> list:
    """Returns something that is not a dict of metrics."""
    return [1, 2, 3]


def interrupted(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """As if the user pressed Ctrl-C in the terminal running ``python -m core train``."""
    raise KeyboardInterrupt


def vanish(store: RunStore, run_id: str, *, should_stop: StopFn) -> dict:
    """The process dies on the spot, recording nothing (like a segfault or the OOM killer)."""
    os._exit(3)
