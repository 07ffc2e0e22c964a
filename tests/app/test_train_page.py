"""AppTest of pages/train.py: submit a real training job, re-attach through the URL, live progress, cancel, errors.

``run_every`` fragments do not fire inside AppTest, so the live view is tested by calling the polling function
directly and by rendering the page while a run is active.
"""

from __future__ import annotations

import os
import re

import pytest
from streamlit.testing.v1 import AppTest

from core import jobs
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.runs import CANCELLED, RUNNING, SUCCEEDED, RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from core.training.progress import poll_run
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "train.py")


def plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.fixture
def small_spec(riskboard_home) -> DatasetSpec:
    store = DatasetStore(riskboard_home)
    meta = store.add(synthetic_biased(600, seed=2).to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"),
                       sensitive=(SensitiveColumn("group"),), name="loans")
    store.save_spec(spec)
    return spec


def open_page(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_submit_train_then_evaluation_after_reattach(riskboard_home, small_spec):
    at = open_page()
    assert "loans" in at.selectbox(key="train-spec").format_func(at.selectbox(key="train-spec").value)
    assert any("Training device: cpu" in plain(c.value) for c in at.caption)
    at.number_input[1].set_value(4)  # epochs
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, at.exception
    runs = RunStore(riskboard_home)
    [record] = runs.list()
    assert at.query_params["run"] == [record.id] or at.query_params["run"] == record.id
    assert record.config["epochs"] == 4
    final = jobs.wait_for(runs, record.id, timeout_s=120)
    assert final.status == SUCCEEDED, final.error
    assert len(runs.epochs(record.id)) >= 1

    # a refresh or a second tab opens the URL with ?run=<id>: it re-attaches to the finished run
    again = open_page(run=record.id)
    labels = {m.label: m.value for m in again.metric}
    assert float(labels["ROC AUC"]) == pytest.approx(final.metrics["roc_auc"], abs=1e-3)
    titles = [c.proto.spec for c in again.get("plotly_chart")]
    assert len(titles) == 6  # loss, validation metrics, ROC, PR, calibration, confusion
    assert any(record.id in r for r in again.dataframe[0].value["run"].tolist())


def test_live_run_shows_progress_and_poll_reads_epochs(riskboard_home, small_spec):
    runs = RunStore(riskboard_home)
    config = TrainConfig(epochs=10).to_dict()
    run_id = runs.create_run(kind="train", dataset_id=small_spec.dataset_id, spec=small_spec.to_dict(),
                             config=config, task=TASK)
    assert runs.claim(run_id, pid=os.getpid(), max_jobs=1)  # alive, so the reaper leaves it
    for epoch in (1, 2, 3):
        runs.log_epoch(run_id, epoch, {"train_loss": 0.7 - epoch / 20, "val_loss": 0.72 - epoch / 25,
                                       "val_accuracy": 0.6, "val_auc": 0.7})
    progress = poll_run(runs, run_id)
    assert (progress.status, progress.epoch, progress.epochs_total) == (RUNNING, 3, 10)
    assert progress.remaining_s is not None

    at = open_page(run=run_id)
    bars = at.get("progress")
    assert bars and "epoch 3 of 10" in bars[0].proto.text
    assert {m.label for m in at.metric} >= {"Train loss", "Validation loss"}
    # cancel from the page: the store records the request, the worker acknowledges it
    next(b for b in at.button if b.label == "Cancel run").click().run()
    assert not at.exception
    assert runs.cancel_requested(run_id)
    runs.finish(run_id, CANCELLED)
    at = open_page(run=run_id)
    assert any("cancelled" in w.value for w in at.warning)


def test_cancel_a_real_job(riskboard_home, small_spec):
    runs = RunStore(riskboard_home)
    run_id = jobs.submit(runs, kind="train", dataset_id=small_spec.dataset_id, spec=small_spec.to_dict(),
                         config={"epochs": 200, "sleep": 0.2}, task="tests.core._jobtasks:slow")
    jobs.wait_for(runs, run_id, timeout_s=0.1)
    jobs.cancel(runs, run_id, wait_s=60)
    assert runs.get(run_id).status == CANCELLED


def test_unknown_run_in_url_is_an_error_not_a_crash(riskboard_home, small_spec):
    at = open_page(run="../../etc/passwd")
    assert at.error
    assert "run" in plain(at.error[0].value).lower()
    assert not at.get("progress")


def test_failed_run_shows_its_message(riskboard_home, small_spec):
    runs = RunStore(riskboard_home)
    run_id = runs.create_run(kind="train", dataset_id=small_spec.dataset_id, spec=small_spec.to_dict(),
                             config=TrainConfig().to_dict(), task=TASK)
    runs.finish(run_id, "failed", error="the loss became NaN at epoch 3; lower the learning rate")
    at = open_page(run=run_id)
    assert any("loss became NaN" in plain(e.value) for e in at.error)


def test_bad_hidden_layers_are_an_error_and_nothing_is_submitted(riskboard_home, small_spec):
    at = open_page()
    next(t for t in at.text_input if t.label == "Hidden layers (MLP)").set_value("64, lots")
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    assert any("whole numbers separated by commas" in plain(e.value) for e in at.error)
    assert RunStore(riskboard_home).list() == []


def test_zero_width_layer_is_a_config_error(riskboard_home, small_spec):
    at = open_page()
    next(t for t in at.text_input if t.label == "Hidden layers (MLP)").set_value("64, 0")
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    assert at.error and "Traceback" not in at.error[0].value
    assert RunStore(riskboard_home).list() == []


def test_a_run_on_ray_says_where_it_ran(riskboard_home, small_spec):
    runs = RunStore(riskboard_home)
    run_id = runs.create_run(kind="train", dataset_id=small_spec.dataset_id, spec=small_spec.to_dict(),
                             config=TrainConfig(epochs=10).to_dict(), task=TASK)
    assert runs.claim(run_id, pid=os.getpid(), max_jobs=1)
    runs.set_device(run_id, "cuda:0 (NVIDIA H200)")
    jobs.record_placement(runs, run_id, jobs.Placement(executor="ray", node="gpu-2", node_ip="10.0.0.7",
                                                       device="cuda:0 (NVIDIA H200)"))
    runs.log_epoch(run_id, 1, {"train_loss": 0.6, "val_loss": 0.62, "val_accuracy": 0.7, "val_auc": 0.75})
    where = "ran on Ray node 10.0.0.7 (gpu-2), on cuda:0 (NVIDIA H200)"
    live = open_page(run=run_id)
    assert any(where in plain(c.value) for c in live.caption)  # while it trains
    runs.finish(run_id, "failed", error="the Ray task running this job died before it finished (node lost)")
    done = open_page(run=run_id)
    assert any("Ray task running this job died" in plain(e.value) for e in done.error)
    assert any(where in plain(c.value) for c in done.caption)  # and once it ended


def test_a_local_run_shows_its_device_as_before(riskboard_home, small_spec):
    runs = RunStore(riskboard_home)
    run_id = runs.create_run(kind="train", dataset_id=small_spec.dataset_id, spec=small_spec.to_dict(),
                             config=TrainConfig().to_dict(), task=TASK)
    runs.set_device(run_id, "cpu")
    runs.finish(run_id, "failed", error="the loss became NaN at epoch 3; lower the learning rate")
    at = open_page(run=run_id)
    captions = [plain(c.value) for c in at.caption]
    assert any("device cpu" in c for c in captions) and not any("Ray node" in c for c in captions)


def test_with_ray_configured_the_page_says_training_runs_on_the_cluster(riskboard_home, small_spec, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    at = open_page()
    captions = [plain(c.value) for c in at.caption]
    assert any("Training runs on the Ray cluster at 10.0.0.5:6379" in c for c in captions)
    assert not any(c.startswith("Training device:") for c in captions)


def test_a_run_started_elsewhere_never_takes_over_an_open_tab(riskboard_home, small_spec):
    """Five tabs pressing Train at once once showed another tab's run: only a session's first view follows the run
    training now; a tab already open stays on its own run, including while its own Train click is handled."""
    mine = open_page()  # opened while nothing trains
    runs = RunStore(riskboard_home)
    theirs = runs.create_run(kind="train", dataset_id=small_spec.dataset_id, spec=small_spec.to_dict(),
                             config=TrainConfig(epochs=10).to_dict(), task=TASK)
    assert runs.claim(theirs, pid=os.getpid(), max_jobs=2)  # another session's run, training now
    fresh = open_page()  # a new tab follows it
    assert fresh.query_params["run"] in (theirs, [theirs])
    mine.run()  # a rerun of the open tab does not
    assert "run" not in mine.query_params
    mine.number_input[1].set_value(1)
    next(b for b in mine.button if b.label == "Train").click().run()
    assert not mine.exception, mine.exception
    [own] = [r.id for r in runs.list() if r.id != theirs]
    assert mine.query_params["run"] in (own, [own])
    assert any(own in plain(c.value) for c in mine.caption)
    assert not any(theirs in plain(c.value) for c in mine.caption)
    jobs.cancel(runs, own, wait_s=60)
    runs.finish(theirs, CANCELLED)
