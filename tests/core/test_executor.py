"""The executor seam without Ray: the choice of executor, placement records, and proof that the embedded path
never imports Ray (the Ray executor itself is tested in ``test_ray.py``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.errors import ConfigError
from core.jobs._executor import (
    LOCAL,
    RAY,
    Placement,
    executor_name,
    map_steps,
    read_placement,
    record_placement,
    require_ray,
    run_step,
)
from tests.conftest import ROOT


@pytest.mark.parametrize(("env", "expected"), [
    ({}, LOCAL),
    ({"RAY_ADDRESS": "10.0.0.5:6379"}, RAY),
    ({"RAY_ADDRESS": "  "}, LOCAL),
    ({"RISKBOARD_EXECUTOR": "ray"}, RAY),
    ({"RISKBOARD_EXECUTOR": " Ray "}, RAY),
    ({"RISKBOARD_EXECUTOR": "local", "RAY_ADDRESS": "auto"}, LOCAL),
])
def test_executor_follows_riskboard_executor_then_ray_address(env, expected):
    assert executor_name(env) == expected


def test_unknown_executor_is_a_config_error():
    with pytest.raises(ConfigError, match="RISKBOARD_EXECUTOR='dask' is not one of local, ray"):
        executor_name({"RISKBOARD_EXECUTOR": "dask"})


def test_ray_missing_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr("core.jobs._executor.ray_installed", lambda: False)
    with pytest.raises(ConfigError, match=r"RAY_ADDRESS is set.*requirements-ray\.txt"):
        require_ray({"RAY_ADDRESS": "auto"})


def _double(x, *, emit, should_stop, offset=0):
    emit({"seen": x})
    return 2 * x + offset


def test_local_steps_run_here_with_emit_and_in_order():
    events = []
    assert run_step(_double, 4, emit=events.append, offset=1) == 9
    assert events == [{"seen": 4}]
    done = []
    assert map_steps(lambda base, item, should_stop: base + item, [10], [1, 2, 3], on_done=done.append) == [11, 12, 13]
    assert done == [1, 2, 3]


def test_placement_round_trips_and_old_runs_read_as_local(riskboard_home):
    from core.runs import RunStore

    store = RunStore(riskboard_home)
    run_id = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task="core.training.pipeline:"
                              "execute_run")
    assert read_placement(store, run_id) == Placement()
    where = Placement(executor=RAY, node="gpu-2", node_ip="10.0.0.7", device="cuda:0 (H200)", workers=2)
    record_placement(store, run_id, where)
    assert read_placement(store, run_id) == where
    assert where.describe() == "Ray node 10.0.0.7 (gpu-2), on cuda:0 (H200), 2 data-parallel workers"
    assert Placement(device="cpu").describe() == "ran here (local worker process), on cpu"


EMBEDDED = r"""
import json, sys
from core.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
print(json.dumps({"code": code, "ray_modules": loaded}), file=sys.stderr)
"""


def test_the_embedded_path_never_imports_ray(tmp_path, riskboard_home):
    """Train and list a run on the default executor in a fresh interpreter, then look at ``sys.modules``."""
    from core.data.demo import synthetic_biased

    table = tmp_path / "loans.csv"
    synthetic_biased(400, seed=3).to_csv(table, index=False)
    env = {"PATH": "/usr/bin:/bin", "RISKBOARD_HOME": str(riskboard_home), "PYTHONPATH": str(ROOT),
           "RISKBOARD_WARM_WORKER": "0"}
    proc = subprocess.run([sys.executable, "-c", EMBEDDED, "train", str(table), "--target", "approved",
                           "--model", "logistic", "--epochs", "2", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "ray_modules": []}, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["executor"] == "local"


@pytest.mark.parametrize(("cluster_gpus", "device", "expected"), [
    (0, None, 0), (4, None, 1), (4, "cpu", 0), (4, "mps", 0), (4, "cuda", 1), (1, "cuda:0", 1),
])
def test_a_training_task_asks_for_a_gpu_when_the_cluster_has_one_and_the_setting_allows(cluster_gpus, device,
                                                                                       expected):
    from core.jobs._ray import gpu_request  # pure: imports no Ray

    assert gpu_request(cluster_gpus, device) == expected


def test_a_device_pinned_to_cuda_on_a_cluster_without_gpus_is_an_error_not_a_task_pending_forever():
    from core.jobs._ray import gpu_request

    with pytest.raises(ConfigError, match="RISKBOARD_DEVICE=cuda asks for a GPU, but the Ray cluster has none"):
        gpu_request(0, "cuda")


def test_data_parallel_workers_setting():
    from core.training._remote import ray_workers

    assert ray_workers({}) == 1
    assert ray_workers({"RISKBOARD_RAY_WORKERS": "4"}) == 4
    for bad in ("0", "two", "65"):
        with pytest.raises(ConfigError, match="RISKBOARD_RAY_WORKERS="):
            ray_workers({"RISKBOARD_RAY_WORKERS": bad})


def test_the_train_page_says_where_jobs_go():
    from core.jobs import executor_caption

    assert executor_caption({}) is None
    assert executor_caption({"RAY_ADDRESS": "10.0.0.5:6379"}).startswith("Training runs on the Ray cluster at "
                                                                         "10.0.0.5:6379; ")
    assert "a private Ray instance on this machine" in executor_caption({"RISKBOARD_EXECUTOR": "ray"})
