"""Live progress of a run, from its record and logged epochs: what the Train page polls and the CLI prints."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from core.runs import RunStatus
from core.runs.naming import display_name
from core.timeleft import format_seconds, time_left

RECENT_EPOCHS = 5  # the epoch rate is read from the last few epochs, so it follows the run's current speed


@dataclass(frozen=True)
class RunProgress:
    status: str
    epoch: int
    epochs_total: int
    elapsed_s: float
    remaining_s: float | None
    history: list[dict] = field(default_factory=list)
    early_stopping: bool = True
    stops_within_s: float | None = None  # if validation loss stops improving, early stopping ends it by then

    @property
    def fraction(self) -> float:
        return min(1.0, self.epoch / self.epochs_total) if self.epochs_total else 0.0

    @property
    def summary(self) -> str:
        text = f"epoch {self.epoch} of {self.epochs_total} · {format_seconds(self.elapsed_s)} elapsed"
        if self.remaining_s is not None:
            text += f" · about {format_seconds(self.remaining_s)} left"
            if self.early_stopping and self.stops_within_s is not None and self.stops_within_s < self.remaining_s:
                text += (f" at most; about {format_seconds(self.stops_within_s)} if validation loss stops improving "
                         "(early stopping)")
            elif self.early_stopping:
                text += " (at most; early stopping may end it sooner)"
        elif self.status == RunStatus.RUNNING and self.epoch == 1 and self.epochs_total > 1:
            text += " · time left: estimated from the second epoch on"
        return text


def epoch_seconds(history: list[dict]) -> float | None:
    """Seconds per epoch from the training loop's own clock (``seconds``: cumulative since training started).

    Measured between logged epochs, never from the first epoch alone: that one also carries one-off costs (the
    worker importing torch's compiler stack on its first optimiser, first-batch allocations), and dividing those
    by one epoch and multiplying by a hundred to go is how "about 8 min left" came out of a 2-minute run. None
    until two epochs have a time.
    """
    timed = [(int(h["epoch"]), float(h["seconds"])) for h in history
             if isinstance(h.get("seconds"), int | float) and math.isfinite(h["seconds"])]
    if len(timed) < 2:
        return None
    recent = timed[-(RECENT_EPOCHS + 1):]
    (first_epoch, first_s), (last_epoch, last_s) = recent[0], recent[-1]
    if last_epoch <= first_epoch or last_s < first_s:
        return None
    return (last_s - first_s) / (last_epoch - first_epoch)


def _epochs_since_best(history: list[dict]) -> int:
    losses = [h.get("val_loss") for h in history]
    known = [(i, v) for i, v in enumerate(losses) if isinstance(v, int | float) and math.isfinite(v)]
    if not known:
        return 0
    best = min(known, key=lambda item: item[1])[0]
    return len(history) - 1 - best


def run_progress(record, history: list[dict], *, now: datetime | None = None) -> RunProgress:
    """Epoch i of N, elapsed, and the time left: the loop's recent seconds per epoch times the epochs to go.

    Runs whose epochs carry no loop time (older runs, other tasks) fall back to the elapsed time per epoch.
    """
    now = now or datetime.now(UTC)
    config = record.config or {}
    epoch = int(history[-1]["epoch"]) if history else 0
    # the step budget may give a small table more epochs than configured; the loop logs the count it plans
    total = int((history[-1].get("epochs_planned") if history else None) or config.get("epochs", 0) or 0)
    started = _as_datetime(record.started_at)
    finished = _as_datetime(record.finished_at)
    elapsed = ((finished or now) - started).total_seconds() if started else 0.0
    patience = int(config.get("early_stopping_patience", 1) or 0)
    remaining = stops_within = None
    if record.status == RunStatus.RUNNING and epoch:
        timed = any("seconds" in h for h in history)
        per_epoch = epoch_seconds(history) if timed else elapsed / epoch
        if per_epoch is not None:
            remaining = time_left(per_epoch, 1, 1 + total - epoch)  # the pace of one recent epoch
            if patience > 0 and any(isinstance(h.get("val_loss"), int | float) for h in history):
                left = max(0, min(total - epoch, patience - _epochs_since_best(history)))
                stops_within = per_epoch * left
    return RunProgress(status=record.status, epoch=epoch, epochs_total=total, elapsed_s=max(0.0, elapsed),
                       remaining_s=remaining, history=list(history), early_stopping=patience > 0,
                       stops_within_s=stops_within)


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def runs_table(records) -> pd.DataFrame:
    """Run history for display: one row per run, key test metrics as numbers (missing ones empty)."""
    rows = []
    for r in records:
        metrics = r.metrics or {}
        config = r.config or {}
        rows.append({
            "name": display_name(r), "status": r.status, "model": config.get("model", ""),
            "target": (r.spec or {}).get("target", ""), "device": r.device or "",
            "created": str(r.created_at)[:19].replace("T", " "),
            "roc_auc": metrics.get("roc_auc"), "accuracy": metrics.get("accuracy"),
            "log_loss": metrics.get("log_loss"), "epochs": metrics.get("epochs_run"),
            "error": r.error or "", "run": r.id,
        })
    return pd.DataFrame(rows, columns=["name", "status", "model", "target", "device", "created", "roc_auc",
                                       "accuracy", "log_loss", "epochs", "error", "run"])


def poll_run(store, run_id: str, *, settings=None) -> RunProgress:
    """One poll of a live run: reap dead workers first, so a killed job shows as failed instead of hanging."""
    from core import jobs

    if settings is not None:
        jobs.refresh(store, settings)
    return run_progress(store.get(run_id), store.epochs(run_id))
