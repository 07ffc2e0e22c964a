"""Run store: round trip, id validation, WAL, state machine, claim, reaping, and two processes at once."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.errors import RiskboardError, RunNotFoundError
from core.runs import (
    CANCELLED,
    CANCELLED_BEFORE_START,
    FAILED,
    QUEUED,
    RUNNING,
    SCHEMA_VERSION,
    SUCCEEDED,
    WORKER_LOST,
    WORKER_LOST_QUEUED,
    RunStore,
    validate_run_id,
)
from core.runs._record import RUN_ID_PATTERN, new_run_id
from tests.conftest import ROOT


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "home")


def make(store: RunStore, **overrides) -> str:
    args = {"kind": "train", "dataset_id": "ds-1", "spec": {"target": "y", "features": ["a", "b"]},
            "config": {"epochs": 3, "lr": 0.01}, "task": "tests.core._jobtasks:quick"} | overrides
    return store.create_run(**args)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_round_trip(store: RunStore):
    run_id = make(store, name="first try")
    assert RUN_ID_PATTERN.fullmatch(run_id)
    record = store.get(run_id)
    assert (record.id, record.kind, record.dataset_id, record.name) == (run_id, "train", "ds-1", "first try")
    assert record.spec == {"target": "y", "features": ["a", "b"]}
    assert record.config == {"epochs": 3, "lr": 0.01}
    assert record.task == "tests.core._jobtasks:quick"
    assert record.status == QUEUED and not record.is_finished and record.is_active
    assert record.created_at.tzinfo is not None and abs(datetime.now(UTC) - record.created_at).total_seconds() < 60
    assert record.started_at is record.finished_at is record.pid is record.error is None
    assert record.metrics == {} and record.cancel_requested is False and record.duration_s is None
    assert store.artifact_dir(run_id) == store.home / "runs" / run_id and (store.home / "runs" / run_id).is_dir()


def test_run_ids_are_sortable_by_time():
    early = new_run_id(datetime(2026, 11, 29, 9, 45, 12, tzinfo=UTC))
    late = new_run_id(datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC))
    assert early.startswith("20261129-094512-") and early < late
    assert validate_run_id(early) == early


@pytest.mark.parametrize("bad", ["../x", "20261129-094512-a1b2c3/../../etc", "20261129-094512-A1B2C3", "",
                                 " 20261129-094512-a1b2c3", "20261129-094512-a1b2c3\n", None, 20261129])
def test_malformed_run_ids_are_refused_before_any_path_or_query(store: RunStore, bad):
    with pytest.raises(RunNotFoundError, match="is not a run id"):
        validate_run_id(bad)
    for call in (store.get, store.artifact_dir, store.epochs, store.delete, store.request_cancel):
        with pytest.raises(RunNotFoundError, match="is not a run id"):
            call(bad)
    assert not store.home.exists()  # nothing was created on disk for a bad id, not even the store


def test_unknown_run_is_a_clear_error(store: RunStore):
    with pytest.raises(RunNotFoundError, match="there is no run 20200101-000000-abcdef"):
        store.get("20200101-000000-abcdef")
    with pytest.raises(RunNotFoundError, match="no run"):
        store.artifact_dir("20200101-000000-abcdef")  # no orphan folder for a run that does not exist
    assert not (store.home / "runs" / "20200101-000000-abcdef").exists()
    with pytest.raises(RunNotFoundError):
        store.finish("20200101-000000-abcdef", FAILED)


def test_database_uses_wal_and_a_schema_version(store: RunStore):
    make(store)
    with sqlite3.connect(store.db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1


def test_a_store_from_a_newer_version_is_refused(store: RunStore):
    make(store)
    with sqlite3.connect(store.db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RiskboardError, match="newer Riskboard"):
        RunStore(store.home).create_run(kind="train", dataset_id="d", spec={}, config={}, task="m:f")


def test_after_a_restart_every_run_is_listed_newest_first(store: RunStore):
    ids = [make(store) for _ in range(3)]
    store.finish(ids[0], SUCCEEDED, metrics={"auc": 0.8})
    store.claim(ids[1], os.getpid(), max_jobs=5)
    reopened = RunStore(store.home)
    listed = reopened.list()
    assert [r.id for r in listed] == ids[::-1]
    assert [r.status for r in listed] == [QUEUED, RUNNING, SUCCEEDED]
    assert reopened.get(ids[0]).metrics == {"auc": 0.8}
    assert [r.id for r in reopened.list(limit=2)] == ids[:0:-1]
    assert [r.id for r in reopened.list(status=SUCCEEDED)] == [ids[0]]
    assert {r.id for r in reopened.list(status=[QUEUED, RUNNING])} == set(ids[1:])
    with pytest.raises(ValueError, match="unknown run status"):
        reopened.list(status="done")


def test_epochs_are_ordered_replaced_and_incremental(store: RunStore):
    run_id = make(store)
    assert store.epochs(run_id) == []
    for epoch in (2, 0, 1):
        store.log_epoch(run_id, epoch, {"train_loss": 1.0 / (epoch + 1), "val_auc": 0.5 + epoch / 10})
    store.log_epoch(run_id, 1, {"train_loss": 0.4})  # logged again: replaces that value
    store.log_epoch(run_id, 3, {"train_loss": float("nan"), "epsilon": np.float64(1.5)})
    rows = store.epochs(run_id)
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]
    assert rows[1] == {"epoch": 1, "train_loss": 0.4, "val_auc": 0.6}
    assert math.isnan(rows[3]["train_loss"]) and rows[3]["epsilon"] == 1.5
    assert [r["epoch"] for r in store.epochs(run_id, after=1)] == [2, 3]
    with pytest.raises(ValueError, match="epoch"):
        store.log_epoch(run_id, -1, {"x": 1.0})
    with pytest.raises(ValueError, match="metric names"):
        store.log_epoch(run_id, 4, {"": 1.0})


def test_finish_is_idempotent_and_never_overwrites_a_terminal_state(store: RunStore):
    run_id = make(store)
    assert store.claim(run_id, os.getpid(), max_jobs=1)
    store.log_epoch(run_id, 0, {"loss": 1.0})
    assert store.finish(run_id, SUCCEEDED, metrics={"roc_auc": np.float32(0.75), "n": np.int64(3)})
    first = store.get(run_id)
    assert first.is_finished and first.finished_at >= first.started_at and first.metrics == {"roc_auc": 0.75, "n": 3}
    assert not store.finish(run_id, SUCCEEDED, metrics={"roc_auc": 0.1})
    assert not store.finish(run_id, FAILED, error="late reaper")
    assert not store.finish(run_id, CANCELLED)
    assert store.request_cancel(run_id) == SUCCEEDED
    assert not store.log_epoch(run_id, 1, {"loss": 0.5}) and not store.heartbeat(run_id)
    assert store.reap_stale(0.0) == []
    assert store.get(run_id) == first and len(store.epochs(run_id)) == 1
    with pytest.raises(ValueError, match="finish"):
        store.finish(run_id, RUNNING)


def test_claim_respects_max_jobs_first_come_first_served(store: RunStore):
    a, b, c = make(store), make(store), make(store)
    assert not store.claim(b, 1, max_jobs=1)  # a is ahead of b in the queue
    assert store.claim(a, 1, max_jobs=1)
    assert not store.claim(b, 2, max_jobs=1)  # the only slot is taken
    assert store.claim(b, 2, max_jobs=2)
    assert not store.claim(a, 1, max_jobs=9)  # already running: a second claim never takes it twice
    store.finish(a, SUCCEEDED)
    assert store.claim(c, 3, max_jobs=2)
    record = store.get(c)
    assert record.status == RUNNING and record.pid == 3 and record.started_at and record.heartbeat_at


def test_request_cancel_of_a_queued_run_cancels_it_at_once(store: RunStore):
    run_id = make(store)
    assert store.request_cancel(run_id) == CANCELLED
    record = store.get(run_id)
    assert record.status == CANCELLED and record.finished_at and record.cancel_requested
    assert record.error == CANCELLED_BEFORE_START
    assert not store.claim(run_id, 1, max_jobs=1) and store.should_stop(run_id)


def test_request_cancel_of_a_running_run_sets_the_flag(store: RunStore):
    run_id = make(store)
    store.claim(run_id, os.getpid(), max_jobs=1)
    assert not store.should_stop(run_id) and not store.cancel_requested(run_id)
    assert store.request_cancel(run_id) == RUNNING
    assert store.cancel_requested(run_id) and store.should_stop(run_id)
    assert store.get(run_id).status == RUNNING


def test_delete_refuses_unfinished_runs_and_removes_everything_else(store: RunStore):
    run_id = make(store)
    with pytest.raises(RiskboardError, match="still queued; cancel it"):
        store.delete(run_id)
    store.claim(run_id, os.getpid(), max_jobs=1)
    with pytest.raises(RiskboardError, match="still running"):
        store.delete(run_id)
    store.log_epoch(run_id, 0, {"loss": 1.0})
    (store.artifact_dir(run_id) / "model.safetensors").write_bytes(b"x")
    store.finish(run_id, FAILED, error="nope")
    keep = make(store)
    store.delete(run_id)
    assert not (store.home / "runs" / run_id).exists()
    with pytest.raises(RunNotFoundError):
        store.get(run_id)
    with sqlite3.connect(store.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 0
    assert [r.id for r in store.list()] == [keep]


def test_reap_stale_marks_dead_and_silent_workers_failed(store: RunStore):
    dead_running, dead_queued, silent, alive, orphan = (make(store) for _ in range(5))
    store.claim(dead_running, dead_pid(), max_jobs=9)
    store.set_worker(dead_queued, dead_pid())
    store.claim(silent, os.getpid(), max_jobs=9)
    store.claim(alive, os.getpid(), max_jobs=9)
    with sqlite3.connect(store.db_path) as conn:  # silent: alive pid, but on another host and no heartbeat lately
        conn.execute("UPDATE runs SET host = 'elsewhere', heartbeat_at = '2000-01-01T00:00:00.000000+00:00' "
                     "WHERE id = ?", (silent,))
        conn.execute("UPDATE runs SET created_at = '2000-01-01T00:00:00.000000+00:00' WHERE id = ?", (orphan,))
    reaped = store.reap_stale(60)
    assert sorted(reaped) == sorted([dead_running, dead_queued, silent, orphan])
    assert store.get(dead_running).error == WORKER_LOST and store.get(silent).error == WORKER_LOST
    assert store.get(dead_queued).error == WORKER_LOST_QUEUED and store.get(orphan).error == WORKER_LOST_QUEUED
    assert all(store.get(r).status == FAILED and store.get(r).finished_at for r in reaped)
    assert store.get(alive).status == RUNNING
    assert store.reap_stale(60) == []
    store.heartbeat(alive)
    time.sleep(0.05)
    assert store.reap_stale(0.01) == [alive]  # silence longer than the timeout is enough on its own


def test_set_device_and_heartbeat(store: RunStore):
    run_id = make(store)
    store.claim(run_id, os.getpid(), max_jobs=1)
    before = store.get(run_id).heartbeat_at
    store.set_device(run_id, "cuda:0")
    assert store.heartbeat(run_id)
    record = store.get(run_id)
    assert record.device == "cuda:0" and record.heartbeat_at >= before
    with pytest.raises(RunNotFoundError):
        store.set_device("20200101-000000-abcdef", "cpu")


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core.runs import RunStore
    store = RunStore(Path(sys.argv[1]))
    for epoch in range(200):
        store.log_epoch(sys.argv[2], epoch, {"train_loss": 1.0 / (epoch + 1), "val_loss": 2.0, "auc": 0.5})
        if epoch % 20 == 0:
            store.heartbeat(sys.argv[2])
    print("done")
""")


def test_two_processes_write_and_read_at_once_without_lock_errors(store: RunStore):
    run_id = make(store)
    store.claim(run_id, os.getpid(), max_jobs=1)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store.home), run_id], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, reads = [], 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = store.epochs(run_id)
        assert all(set(r) == {"epoch", "train_loss", "val_loss", "auc"} for r in rows)  # never half an epoch
        assert [r["epoch"] for r in rows] == list(range(len(rows)))
        seen.append(len(rows))
        store.heartbeat(run_id)  # this process writes too
        store.get(run_id)
        reads += 1
        if writer.poll() is not None and len(rows) == 200:
            break
    out, err = writer.communicate(timeout=30)
    assert writer.returncode == 0 and out.strip() == "done", err
    assert seen == sorted(seen) and seen[-1] == 200 and reads > 3
    assert any(0 < n < 200 for n in seen)  # the reader really overlapped the writer
