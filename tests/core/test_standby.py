"""Warm workers: a standby takes the next run, claims it in the run's folder (so force_stop may signal it), it
hands its output to the run's worker.log, and a new standby waits for the run after."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core import jobs
from core.device import warm_up_torch
from core.jobs import _standby
from core.runs import CANCELLED, SUCCEEDED, RunStore
from core.runs._host import command_line, is_worker_of, pid_alive
from tests.core.test_jobs import finished, settings_for, submit, until


@pytest.fixture
def warm(monkeypatch):
    monkeypatch.setenv(_standby.WARM_ENV, "1")
    yield
    _standby.shutdown()


def test_a_standby_takes_the_run_and_can_be_force_stopped(riskboard_home, warm):
    store = RunStore(riskboard_home)
    standby = jobs.prewarm(store, settings_for(store.home))
    assert standby is not None and pid_alive(standby)
    assert command_line(standby)[-1] == _standby.STANDBY_FLAG
    run_id = submit(store, "slow", epochs=500, sleep=0.05)
    record = store.get(run_id)
    assert record.pid == standby  # the waiting process took it: no new interpreter, no imports
    until(lambda: store.get(run_id).status == "running" and store.epochs(run_id), timeout_s=60, what="first epoch")
    folder = store.runs_dir / run_id
    assert not is_worker_of(standby, run_id)  # its command line does not name the run ...
    assert is_worker_of(standby, run_id, folder)  # ... but its claim in the run's folder does
    assert not is_worker_of(standby, "20200101-000000-abcdef", store.runs_dir / "20200101-000000-abcdef")
    nxt = _standby._standby[1].pid  # and the next click finds a new standby waiting
    assert nxt != standby and pid_alive(nxt)
    assert jobs.force_stop(store, run_id, grace_s=5)
    assert store.get(run_id).status == CANCELLED
    until(lambda: not pid_alive(standby), timeout_s=10, what="the stopped worker to exit")
    assert "starting task tests.core._jobtasks:slow" in (store.artifact_dir(run_id) / jobs.WORKER_LOG).read_text()

    second = submit(store, "quick")
    assert store.get(second).pid == nxt
    assert finished(store, second, timeout_s=60).status == SUCCEEDED


def test_standbys_are_off_when_disabled(riskboard_home, monkeypatch):
    monkeypatch.setenv(_standby.WARM_ENV, "0")
    assert jobs.prewarm(RunStore(riskboard_home), settings_for(riskboard_home)) is None


def test_a_claim_by_another_process_or_a_reused_pid_does_not_count(tmp_path):
    from core.runs._host import CLAIM_FILE, process_started, write_claim

    write_claim(tmp_path)
    pid, started = (tmp_path / CLAIM_FILE).read_text().split()
    assert pid == str(os.getpid()) and started == process_started(os.getpid())
    waiting = subprocess.Popen([sys.executable, "-m", "core.jobs.worker", str(tmp_path), _standby.STANDBY_FLAG],
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run_id = "20261201-203409-b88e1a"
        until(lambda: process_started(waiting.pid) is not None, timeout_s=10, what="the standby to start")
        (tmp_path / CLAIM_FILE).write_text(f"{waiting.pid} {process_started(waiting.pid)}\n")
        assert is_worker_of(waiting.pid, run_id, tmp_path)  # its own claim: yes
        (tmp_path / CLAIM_FILE).write_text(f"{waiting.pid} 1\n")  # right pid, other start time: a reused pid
        assert not is_worker_of(waiting.pid, run_id, tmp_path)
        write_claim(tmp_path)  # a claim by another process (this test's)
        assert not is_worker_of(waiting.pid, run_id, tmp_path)
    finally:
        waiting.kill()
        waiting.wait()


def test_warm_up_runs_on_the_selected_device_and_survives_a_device_it_cannot_use(monkeypatch):
    import torch

    from core.device import DeviceChoice

    seen = []
    real = torch.zeros

    def spy(*args, **kwargs):
        seen.append(kwargs.get("device"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "zeros", spy)
    monkeypatch.setattr("core.device.select_device",
                        lambda: DeviceChoice(torch.device("cpu"), "cpu", "test"))
    warm_up_torch()
    assert seen[0] == torch.device("cpu")

    def refuse():
        from core.errors import ConfigError
        raise ConfigError("no such device here")

    monkeypatch.setattr("core.device.select_device", refuse)
    warm_up_torch()  # falls back to the CPU; the run itself reports the setting
    assert seen[-1] == torch.device("cpu")
