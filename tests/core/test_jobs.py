"""Job runner: worker processes, the slot limit, cancel, force-stop, reaping, outcomes, and the inline (CLI) path.

Each worker is a real ``python -m core.jobs.worker`` process (about 0.1-0.3 s to start without torch), so the tests
keep their number small and poll the store with short timeouts instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core import jobs
from core.config import Settings, get_settings
from core.errors import RiskboardError
from core.jobs._runner import INTERRUPTED, TERMINATED, StopFlag
from core.jobs.worker import main as worker_main
from core.runs import CANCELLED, CANCELLED_BEFORE_START, FAILED, QUEUED, RUNNING, SUCCEEDED, WORKER_LOST, RunStore
from core.runs._host import is_worker_of, pid_alive
from tests.core import _jobtasks

T = _jobtasks.MODULE


def settings_for(home: Path, max_jobs: int = 1) -> Settings:
    return dataclasses.replace(get_settings(), home=home, max_jobs=max_jobs, heartbeat_timeout_s=60.0)


@pytest.fixture
def store(riskboard_home: Path) -> RunStore:
    return RunStore(riskboard_home)


def submit(store: RunStore, task: str, max_jobs: int = 1, **config) -> str:
    return jobs.submit(store, kind="train", dataset_id="ds-1", spec={"target": "y"}, config=config,
                       task=f"{T}:{task}", settings=settings_for(store.home, max_jobs))


def until(predicate: Callable[[], object], timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def finished(store: RunStore, run_id: str, timeout_s: float = 15.0):
    record = jobs.wait_for(store, run_id, timeout_s=timeout_s, poll_s=0.05)
    log = store.artifact_dir(run_id) / jobs.WORKER_LOG
    assert record.is_finished, f"run still {record.status}; worker.log:\n{log.read_text() if log.exists() else ''}"
    return record


def running(store: RunStore, run_id: str) -> int:
    until(lambda: store.get(run_id).status == RUNNING and store.epochs(run_id), what=f"{run_id} running")
    return store.get(run_id).pid


def test_a_submitted_run_trains_in_its_own_process_and_succeeds(store: RunStore):
    run_id = submit(store, "quick")
    record = finished(store, run_id)
    assert record.status == SUCCEEDED and record.error is None, record.error
    assert record.metrics == {"roc_auc": 0.9, "epochs_run": 3.0} and record.device == "cpu"
    assert record.pid not in (None, os.getpid()) and record.started_at <= record.finished_at
    assert [e["epoch"] for e in store.epochs(run_id)] == [0, 1, 2]
    log = (store.artifact_dir(run_id) / jobs.WORKER_LOG).read_text()
    assert f"run {run_id} succeeded" in log and "Traceback" not in log
    until(lambda: not pid_alive(record.pid), what="worker exit")


def test_a_second_run_waits_for_the_slot_until_the_first_finishes(store: RunStore, tmp_path: Path):
    gate = tmp_path / "gate"
    first = submit(store, "gated", gate=str(gate))
    until(lambda: store.get(first).status == RUNNING, what="first running")
    second = submit(store, "quick")
    time.sleep(1.0)  # several claim polls of the second worker
    assert store.get(second).status == QUEUED and store.get(second).pid is not None
    gate.touch()
    a, b = finished(store, first), finished(store, second)
    assert a.status == b.status == SUCCEEDED
    assert b.started_at >= a.finished_at


def test_cancelling_a_queued_run_cancels_it_at_once_and_its_worker_leaves(store: RunStore, tmp_path: Path):
    gate = tmp_path / "gate"
    first = submit(store, "gated", gate=str(gate))
    until(lambda: store.get(first).status == RUNNING, what="first running")
    second = submit(store, "quick")
    record = jobs.cancel(store, second)
    assert record.status == CANCELLED and record.error == CANCELLED_BEFORE_START and record.started_at is None
    until(lambda: not pid_alive(record.pid), what="queued worker exit")
    gate.touch()
    assert finished(store, first).status == SUCCEEDED
    assert store.get(second).status == CANCELLED and store.epochs(second) == []


def test_cancelling_a_running_run_gives_a_consistent_cancelled_record(store: RunStore):
    run_id = submit(store, "slow", epochs=400, sleep=0.05)
    running(store, run_id)
    record = jobs.cancel(store, run_id, wait_s=10)
    assert record.status == CANCELLED and record.cancel_requested and record.finished_at
    assert record.error.startswith("cancelled by the user at epoch")
    count = len(store.epochs(run_id))
    until(lambda: not pid_alive(record.pid), what="worker exit")
    assert not store.finish(run_id, SUCCEEDED, metrics={"late": 1.0}) and store.reap_stale(0.0) == []
    assert store.get(run_id) == record and len(store.epochs(run_id)) == count < 400


def test_a_killed_worker_is_reaped_as_failed(store: RunStore):
    run_id = submit(store, "hang")
    pid = running(store, run_id)
    os.kill(pid, signal.SIGKILL)
    until(lambda: jobs.refresh(store, settings_for(store.home)) == [run_id], what="reap")
    record = store.get(run_id)
    assert record.status == FAILED and record.error == WORKER_LOST and record.finished_at
    assert "killed or crashed" in record.error and "start the run again" in record.error


def test_a_worker_that_vanishes_mid_run_is_reaped(store: RunStore):
    run_id = submit(store, "vanish")
    until(lambda: store.get(run_id).status == RUNNING and not pid_alive(store.get(run_id).pid), what="exit")
    assert jobs.refresh(store, settings_for(store.home)) == [run_id]
    assert store.get(run_id).status == FAILED


def test_sigterm_to_a_worker_records_the_run_as_cancelled(store: RunStore):
    run_id = submit(store, "hang")
    os.kill(running(store, run_id), signal.SIGTERM)
    record = finished(store, run_id)
    assert record.status == CANCELLED and record.error == TERMINATED


def test_force_stop_terminates_an_unresponsive_worker(store: RunStore):
    run_id = submit(store, "hang")
    pid = running(store, run_id)
    assert is_worker_of(pid, run_id) and not is_worker_of(pid, "20200101-000000-abcdef")
    assert jobs.force_stop(store, run_id)
    record = store.get(run_id)
    assert record.status == CANCELLED and record.error == jobs.FORCE_STOPPED
    until(lambda: not pid_alive(pid), timeout_s=5, what="worker exit")
    assert store.get(run_id) == record  # the dying worker's own SIGTERM handling did not overwrite it
    assert not jobs.force_stop(store, run_id)  # already finished: nothing to do


def test_force_stop_escalates_to_sigkill(store: RunStore):
    run_id = submit(store, "stubborn")
    pid = running(store, run_id)
    started = time.monotonic()
    assert jobs.force_stop(store, run_id, grace_s=0.5)
    until(lambda: not pid_alive(pid), timeout_s=5, what="worker exit")
    assert time.monotonic() - started >= 0.5 and store.get(run_id).status == CANCELLED


def test_force_stop_never_kills_a_process_that_is_not_the_runs_worker(store: RunStore):
    run_id = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task=f"{T}:quick")
    store.claim(run_id, os.getpid(), max_jobs=1)  # "running" in this pytest process, as the CLI would be
    with pytest.raises(RiskboardError, match="not a Riskboard background worker"):
        jobs.force_stop(store, run_id)
    assert store.get(run_id).status == RUNNING and store.cancel_requested(run_id)


def test_a_user_error_fails_the_run_with_its_message(store: RunStore):
    run_id = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task=f"{T}:user_error")
    record = jobs.run_inline(store, run_id, settings=settings_for(store.home))
    assert record.status == FAILED
    assert record.error == "the loss became NaN at epoch 0; lower the learning rate"
    assert not (store.artifact_dir(run_id) / jobs.ERROR_LOG).exists()


def test_an_unexpected_exception_is_an_internal_error_with_the_traceback_in_error_log(store: RunStore):
    run_id = submit(store, "crash")
    record = finished(store, run_id)
    assert record.status == FAILED
    assert record.error.startswith("internal error: ValueError: boom: shape mismatch (3,) vs (4,)")
    assert "Traceback" not in record.error and "second line" not in record.error
    text = (store.artifact_dir(run_id) / jobs.ERROR_LOG).read_text()
    assert "Traceback" in text and "second line of detail" in text and "_jobtasks.py" in text


@pytest.mark.parametrize(("task", "expected"), [
    (f"{T}:wrong_return", "internal error: TypeError: task tests.core._jobtasks:wrong_return returned a list"),
    ("tests.core.no_such_module:run", "internal error: ValueError: task 'tests.core.no_such_module:run' is not a "
                                      "registered Riskboard task"),
    ("os:system", "internal error: ValueError: task 'os:system' is not a registered Riskboard task"),
    (f"{T}:no_such_function", "internal error: AttributeError:"),
])
def test_bad_tasks_fail_as_internal_errors(store: RunStore, task: str, expected: str):
    run_id = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task=task)
    record = jobs.run_inline(store, run_id, settings=settings_for(store.home))
    assert record.status == FAILED and record.error.startswith(expected), record.error


def test_run_inline_runs_the_worker_body_in_this_process(store: RunStore):
    run_id = store.create_run(kind="train", dataset_id="d", spec={}, config={"epochs": 2, "sleep": 0},
                              task="unused.module:ignored")
    record = jobs.run_inline(store, run_id, f"{T}:slow", settings=settings_for(store.home))
    assert record.status == SUCCEEDED and record.pid == os.getpid() and record.metrics == {"epochs_run": 2.0}
    assert f"run {run_id} succeeded" in (store.artifact_dir(run_id) / jobs.WORKER_LOG).read_text()
    assert jobs.run_inline(store, run_id) == record  # a finished run is not run again


def test_run_inline_waits_for_a_slot_unless_told_not_to(store: RunStore):
    busy = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task=f"{T}:quick")
    store.claim(busy, os.getpid(), max_jobs=1)
    eager = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task=f"{T}:quick")
    assert jobs.run_inline(store, eager, settings=settings_for(store.home), wait_for_slot=False).status == SUCCEEDED
    patient = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task=f"{T}:quick")
    thread = threading.Thread(target=jobs.run_inline, args=(store, patient),
                              kwargs={"settings": settings_for(store.home)})
    thread.start()
    time.sleep(0.8)
    assert store.get(patient).status == QUEUED
    store.finish(busy, SUCCEEDED)
    thread.join(timeout=10)
    assert store.get(patient).status == SUCCEEDED and store.get(patient).started_at >= store.get(busy).finished_at


def test_ctrl_c_in_the_cli_records_the_run_as_cancelled(store: RunStore):
    run_id = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task=f"{T}:interrupted")
    with pytest.raises(KeyboardInterrupt):
        jobs.run_inline(store, run_id, settings=settings_for(store.home))
    record = store.get(run_id)
    assert record.status == CANCELLED and record.error == INTERRUPTED


def test_submit_refuses_a_malformed_task_path(store: RunStore):
    with pytest.raises(ValueError, match="module:function"):
        jobs.submit(store, kind="train", dataset_id="d", spec={}, config={}, task="not a path")
    assert store.list() == []


def test_should_stop_is_cached_and_sticky():
    class FakeStore:
        calls = 0
        answer = False

        def should_stop(self, run_id: str) -> bool:
            self.calls += 1
            return self.answer

    fake = FakeStore()
    flag = StopFlag(fake, "20200101-000000-abcdef", interval_s=0.2)  # type: ignore[arg-type]
    assert not any(flag() for _ in range(1000)) and fake.calls == 1
    fake.answer = True
    time.sleep(0.25)
    assert flag() and fake.calls == 2
    fake.answer = False
    time.sleep(0.25)
    assert flag() and fake.calls == 2  # once true, stays true without asking again


def test_worker_entry_point_rejects_bad_arguments(store: RunStore, capsys: pytest.CaptureFixture[str]):
    assert worker_main([]) == 2
    assert worker_main([str(store.home), "../etc"]) == 2
    assert "is not a run id" in capsys.readouterr().err
