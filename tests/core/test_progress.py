"""Live progress: epoch i of N, elapsed, time left, and the run-history table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.training.progress import format_seconds, run_progress, runs_table

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeRecord:
    status: str = "running"
    config: dict = field(default_factory=lambda: {"epochs": 10, "early_stopping_patience": 3})
    started_at: datetime | None = START
    finished_at: datetime | None = None
    id: str = "20260101-120000-abcdef"
    device: str = "cpu"
    created_at: datetime = START
    metrics: dict = field(default_factory=dict)
    spec: dict = field(default_factory=lambda: {"target": "y"})
    error: str | None = None


def test_progress_estimates_time_left_from_mean_epoch_time():
    history = [{"epoch": 1}, {"epoch": 2}, {"epoch": 3}, {"epoch": 4}]
    progress = run_progress(FakeRecord(), history, now=START + timedelta(seconds=20))
    assert (progress.epoch, progress.epochs_total, progress.elapsed_s, progress.remaining_s) == (4, 10, 20.0, 30.0)
    assert progress.fraction == 0.4
    assert progress.summary == ("epoch 4 of 10 · 20 s elapsed · about 30 s left "
                                "(at most; early stopping may end it sooner)")


def test_without_early_stopping_the_estimate_is_not_hedged():
    record = FakeRecord(config={"epochs": 10, "early_stopping_patience": 0})
    progress = run_progress(record, [{"epoch": 5}], now=START + timedelta(seconds=10))
    assert progress.summary == "epoch 5 of 10 · 10 s elapsed · about 10 s left"


def test_finished_run_has_no_estimate_and_uses_finish_time():
    record = FakeRecord(status="succeeded", finished_at=START + timedelta(seconds=75))
    progress = run_progress(record, [{"epoch": 9}], now=START + timedelta(hours=2))
    assert progress.elapsed_s == 75.0 and progress.remaining_s is None


def test_format_seconds():
    assert [format_seconds(v) for v in (2.34, 42, 125, 7300)] == ["2.3 s", "42 s", "2 min 05 s", "2 h 01 min"]


def test_runs_table_columns_and_values():
    table = runs_table([FakeRecord(status="succeeded", metrics={"roc_auc": 0.9, "accuracy": 0.8, "epochs_run": 7.0},
                                   config={"model": "mlp"})])
    assert list(table.columns) == ["run", "status", "model", "target", "device", "created", "roc_auc", "accuracy",
                                   "log_loss", "epochs", "error"]
    row = table.iloc[0]
    assert (row["run"], row["status"], row["model"], row["roc_auc"], row["created"]) == (
        "20260101-120000-abcdef", "succeeded", "mlp", 0.9, "2026-01-01 12:00:00")
