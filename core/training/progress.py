"""Live progress of a run, from its record and logged epochs: what the Train page polls and the CLI prints."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd


@dataclass(frozen=True)
class RunProgress:
    status: str
    epoch: int
    epochs_total: int
    elapsed_s: float
    remaining_s: float | None
    history: list[dict] = field(default_factory=list)
    early_stopping: bool = True

    @property
    def fraction(self) -> float:
        return min(1.0, self.epoch / self.epochs_total) if self.epochs_total else 0.0

    @property
    def summary(self) -> str:
        text = f"epoch {self.epoch} of {self.epochs_total} · {format_seconds(self.elapsed_s)} elapsed"
        if self.remaining_s is not None:
            text += f" · about {format_seconds(self.remaining_s)} left"
            if self.early_stopping:
                text += " (at most; early stopping may end it sooner)"
        return text


def format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def run_progress(record, history: list[dict], *, now: datetime | None = None) -> RunProgress:
    """Epoch i of N, elapsed and an estimate of the time left (mean epoch time x epochs to go)."""
    now = now or datetime.now(UTC)
    total = int((record.config or {}).get("epochs", 0) or 0)
    epoch = int(history[-1]["epoch"]) if history else 0
    started = _as_datetime(record.started_at)
    finished = _as_datetime(record.finished_at)
    elapsed = ((finished or now) - started).total_seconds() if started else 0.0
    remaining = None
    if record.status == "running" and epoch:
        remaining = max(0.0, elapsed / epoch * (total - epoch))
    return RunProgress(status=record.status, epoch=epoch, epochs_total=total, elapsed_s=max(0.0, elapsed),
                       remaining_s=remaining, history=list(history),
                       early_stopping=int((record.config or {}).get("early_stopping_patience", 1) or 0) > 0)


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
            "run": r.id, "status": r.status, "model": config.get("model", ""),
            "target": (r.spec or {}).get("target", ""), "device": r.device or "",
            "created": str(r.created_at)[:19].replace("T", " "),
            "roc_auc": metrics.get("roc_auc"), "accuracy": metrics.get("accuracy"),
            "log_loss": metrics.get("log_loss"), "epochs": metrics.get("epochs_run"),
            "error": r.error or "",
        })
    return pd.DataFrame(rows, columns=["run", "status", "model", "target", "device", "created", "roc_auc",
                                       "accuracy", "log_loss", "epochs", "error"])


def poll_run(store, run_id: str, *, settings=None) -> RunProgress:
    """One poll of a live run: reap dead workers first, so a killed job shows as failed instead of hanging."""
    from core import jobs

    if settings is not None:
        jobs.refresh(store, settings)
    return run_progress(store.get(run_id), store.epochs(run_id))
