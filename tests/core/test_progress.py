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
    kind: str = "train"
    name: str | None = None
    parent_id: str | None = None
    custom_name: str | None = None


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
    assert list(table.columns) == ["name", "status", "model", "target", "device", "created", "roc_auc", "accuracy",
                                   "log_loss", "epochs", "error", "run"]
    row = table.iloc[0]
    assert row["name"] == "Neural network · no privacy · 1 Jan 12:00:00"
    assert (row["run"], row["status"], row["model"], row["roc_auc"], row["created"]) == (
        "20260101-120000-abcdef", "succeeded", "mlp", 0.9, "2026-01-01 12:00:00")


def test_time_left_comes_from_the_loop_clock_not_the_start_up():
    # epoch 1 took 5 s of which 4.5 s were one-off start-up; later epochs take 0.5 s each
    history = [{"epoch": e, "seconds": s, "val_loss": v}
               for e, s, v in [(1, 5.0, 0.70), (2, 5.5, 0.60), (3, 6.0, 0.65), (4, 6.5, 0.66)]]
    record = FakeRecord(config={"epochs": 100, "early_stopping_patience": 3})
    progress = run_progress(record, history, now=START + timedelta(seconds=8))
    assert progress.remaining_s == 0.5 * 96  # not 8 s / 4 epochs x 96 = 192 s
    assert progress.stops_within_s == 0.5 * 1  # best at epoch 2, 2 epochs without improvement, patience 3
    assert progress.summary == ("epoch 4 of 100 · 8.0 s elapsed · about 48 s left at most; about 0.5 s if "
                                "validation loss stops improving (early stopping)")


def test_the_rate_follows_the_recent_epochs():
    history = [{"epoch": e, "seconds": float(e if e <= 5 else 5 + (e - 5) * 3)} for e in range(1, 11)]
    progress = run_progress(FakeRecord(config={"epochs": 20, "early_stopping_patience": 0}), history,
                            now=START + timedelta(seconds=21))
    assert progress.remaining_s == 3.0 * 10  # the last five epochs took 3 s each


def test_one_timed_epoch_is_not_enough_for_an_estimate():
    progress = run_progress(FakeRecord(), [{"epoch": 1, "seconds": 4.0}], now=START + timedelta(seconds=6))
    assert progress.remaining_s is None
    assert progress.summary == "epoch 1 of 10 · 6.0 s elapsed · time left: estimated from the second epoch on"


def test_the_planned_epochs_of_the_step_budget_replace_the_configured_ones():
    history = [{"epoch": 1, "epochs_planned": 250.0}, {"epoch": 2, "epochs_planned": 250.0}]
    progress = run_progress(FakeRecord(), history, now=START + timedelta(seconds=2))
    assert (progress.epoch, progress.epochs_total) == (2, 250)
