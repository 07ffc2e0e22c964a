"""The Ray executor on a local Ray started once per test session (``ray_session`` in conftest; skipped without the
extra): training streams its epochs and matches the local run, cancel reaches the task, a dead task fails the run
with the reason, and the reference audit fanned out over Ray equals the local audit."""

from __future__ import annotations

import json

import pytest

from core import jobs
from core.cli import main
from core.data.demo import synthetic_biased
from core.errors import RunCancelledError, TrainingError
from core.jobs import read_placement, run_step
from core.privacy import audit_run
from core.runs import FAILED, SUCCEEDED
from core.training.pipeline import TASK
from tests.core import _raysteps
from tests.core.test_pipeline import LOANS, start_run

FAST = {"model": "mlp", "hidden": (8,), "epochs": 3, "batch_size": 64, "learning_rate": 0.02}


def _without_time(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_a_run_trained_on_ray_matches_the_local_run_and_so_does_its_reference_audit(ray_session, riskboard_home,
                                                                                      monkeypatch, capsys):
    """One pair of runs (local, Ray) for both checks: training streams its epochs into the store and equals the
    local run; the reference audit fanned out as one Ray task per model equals the local audit (same seed)."""
    frame = synthetic_biased(600, seed=2)
    runs, local_id = start_run(riskboard_home, frame, LOANS, **FAST)
    monkeypatch.setenv("RISKBOARD_EXECUTOR", "ray")
    _, ray_id = start_run(riskboard_home, frame, LOANS, **FAST)
    local, remote = runs.get(local_id), runs.get(ray_id)
    assert remote.status == SUCCEEDED, remote.error
    assert len(runs.epochs(ray_id)) == len(runs.epochs(local_id)) >= 2  # the step budget plans the epochs
    assert _without_time(runs.epochs(ray_id)) == _without_time(runs.epochs(local_id))
    drop = {"seconds"}
    assert {k: v for k, v in remote.metrics.items() if k not in drop} == \
        {k: v for k, v in local.metrics.items() if k not in drop}
    where = read_placement(runs, ray_id)
    assert (where.executor, where.device, where.workers) == ("ray", "cpu", 1) and where.node_ip
    assert read_placement(runs, local_id).executor == "local"
    assert main(["runs", ray_id, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["executor"] == "ray" and payload["placement"]["node_ip"] == where.node_ip

    steps: list[float] = []
    remote_audit = audit_run(runs, local_id, attack="reference", reference_models=2, use_cache=False,
                             progress=lambda fraction, message: steps.append(fraction)).to_dict()
    monkeypatch.setenv("RISKBOARD_EXECUTOR", "local")
    local_audit = audit_run(runs, local_id, attack="reference", reference_models=2, use_cache=False).to_dict()
    local_audit.pop("seconds"), remote_audit.pop("seconds")
    assert remote_audit == local_audit
    # progress as results arrive (both may land in one wait): rising, the last model at 2/3, then done
    assert steps == sorted(steps) and steps[-2:] == [2 / 3, 1.0]


def test_events_stream_while_the_task_runs_and_cancel_reaches_it(on_ray):
    events: list[dict] = []
    # the step ignores its stop flag and sleeps: only ray.cancel ends it, and only after its first epoch arrived
    with pytest.raises(RunCancelledError, match="Ray task was cancelled"):
        run_step(_raysteps.emit_then_sleep, emit=events.append, should_stop=lambda: {"epoch": 1} in events)
    assert set(events[0]) == {"placement"} and events[0]["placement"]["node_ip"]
    assert events[1:] == [{"epoch": 1}]


def test_a_task_that_dies_fails_its_run_with_the_reason(on_ray, riskboard_home):
    from core.runs import RunStore

    runs = RunStore(riskboard_home)
    run_id = runs.create_run(kind="train", dataset_id="d", spec={}, config={}, task=TASK)
    record = jobs.run_inline(runs, run_id, _raysteps.dies_on_ray)
    assert record.status == FAILED
    assert record.error.startswith("the Ray task running this job died before it finished (")


def test_a_riskboard_error_inside_the_task_keeps_its_message(on_ray):
    with pytest.raises(TrainingError, match=r"^the training loss became NaN at epoch 2; lower the learning rate$"):
        run_step(_raysteps.diverge)
