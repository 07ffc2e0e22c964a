"""Analyses that read less of a big table give exactly what reading all of it gives: the loss audit reads the
scores training stored for every split row, the leakage caution what training measured on the table, and an
explanation reads only the rows it explains and its background draws."""

from __future__ import annotations

import json

import numpy as np

from core.cli import main
from core.cli.runs import run_caution_dict
from core.data.demo import synthetic_biased
from core.explain import explain_run
from core.explain._run import load_run
from core.privacy import audit_run
from core.runs import RunStore
from core.training import artifacts
from core.training.caution import CAUTION_JSON
from core.training.loop import predict_proba
from core.training.run_data import load_trained_run


def _train(home) -> str:
    path = home / "loans.csv"
    synthetic_biased(700, seed=3).to_csv(path, index=False)
    assert main(["train", str(path), "--target", "approved", "--epochs", "2", "--sensitive", "group"]) == 0
    (record,) = RunStore(home).list()
    return record.id


def test_stored_scores_equal_the_model_and_the_loss_audit_reads_them(riskboard_home):
    riskboard_home.mkdir(parents=True, exist_ok=True)
    run_id = _train(riskboard_home)
    store = RunStore(riskboard_home)
    arts = store.artifacts(run_id)
    assert artifacts.ROW_SCORES in (arts.manifest() or {})
    stored = artifacts.load_row_scores(arts)
    run = load_trained_run(store, run_id, what="audit")
    assert stored.shape == (len(run.frame), 2)
    split_rows = np.concatenate([run.split.train, run.split.val, run.split.test])
    outside = np.setdiff1d(np.arange(len(run.frame)), split_rows)
    assert np.isnan(stored[outside]).all() and not np.isnan(stored[split_rows]).any()
    for part in (run.split.train, run.split.val, run.split.test):
        expected = predict_proba(run.model, run.encode(part), n_classes=2)
        np.testing.assert_array_equal(stored[part], expected)

    fast = audit_run(store, run_id, attack="loss", use_cache=False).to_dict()
    light = load_trained_run(store, run_id, what="audit", features=False)
    assert set(light.frame.columns) == {"approved", "group"}  # no features read
    store.artifacts(run_id).discard(artifacts.ROW_SCORES)  # a run stored before the scores were kept
    full = audit_run(store, run_id, attack="loss", use_cache=False).to_dict()
    fast.pop("seconds"), full.pop("seconds")
    assert json.dumps(fast, sort_keys=True) == json.dumps(full, sort_keys=True)

    # the caution reads what training measured on the table; measuring it again from the table agrees
    record = store.get(run_id)
    stored_caution = run_caution_dict(riskboard_home, record)
    store.artifacts(run_id).discard(CAUTION_JSON)
    assert stored_caution == run_caution_dict(riskboard_home, record)
    assert stored_caution is None or stored_caution["evidence"]["test_rows"] == len(light.split.test)


def test_explanation_of_a_sample_reads_only_its_rows_and_equals_the_whole_run(riskboard_home):
    riskboard_home.mkdir(parents=True, exist_ok=True)
    run_id = _train(riskboard_home)
    store = RunStore(riskboard_home)
    lean = load_run(store, run_id, sample=(20, 15, 4))
    whole = load_run(store, run_id)
    assert lean.sampled and len(lean.test) == 20 and len(lean.train) < len(whole.train)
    assert (lean.test_count, lean.n_dataset_rows) == (len(whole.test), whole.n_dataset_rows)
    assert lean.test_groups.equals(whole.test_groups.loc[lean.test.index])
    fast = explain_run(store, run_id, rows=20, background=15, seed=4, use_cache=False)
    full = explain_run(store, run_id, rows=20, background=15, seed=4, use_cache=False, run=whole)
    (fast_numbers, fast_data), (full_numbers, full_data) = fast.tables(), full.tables()
    assert fast_numbers.equals(full_numbers) and fast_data.equals(full_data)
    fast_meta, full_meta = fast.meta(), full.meta()
    fast_meta.pop("seconds"), full_meta.pop("seconds")
    assert fast_meta == full_meta
