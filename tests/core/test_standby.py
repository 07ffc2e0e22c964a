"""Warm workers: a standby takes the next run, its command line names the run (so force_stop may signal it), it
hands its output to the run's worker.log, and a new standby waits for the run after."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core import jobs
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
    assert command_line(standby)[-2:] == [_standby.STANDBY_FLAG, _standby.PLACEHOLDER]
    run_id = submit(store, "slow", epochs=500, sleep=0.05)
    record = store.get(run_id)
    assert record.pid == standby  # the waiting process took it: no new interpreter, no imports
    until(lambda: store.get(run_id).status == "running" and store.epochs(run_id), timeout_s=60, what="first epoch")
    assert is_worker_of(standby, run_id)  # its argv now names the run, as a cold worker's does
    assert command_line(standby)[-1] == run_id
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


def test_rename_argument_rewrites_the_command_line_of_its_own_process():
    code = ("import sys; from core.jobs._standby import rename_argument; "
            "ok = rename_argument('x' * 22, '20261201-203409-b88e1a'); "
            "print(ok, open('/proc/self/cmdline','rb').read().split(b'\\0')[-2].decode())")
    out = subprocess.run([sys.executable, "-c", code, "x" * 22], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "20261201-203409-b88e1a"]
    with pytest.raises(ValueError, match="same length"):
        _standby.rename_argument("short", "longer one")
