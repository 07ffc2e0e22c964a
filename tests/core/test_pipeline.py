"""End-to-end training run through the worker's code path: artifacts reload to the same scores, failures recorded."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import jobs
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.errors import TrainingError
from core.runs import FAILED, SUCCEEDED, RunStore
from core.training import artifacts
from core.training.config import TrainConfig
from core.training.loop import predict_proba
from core.training.pipeline import TASK, predicted_classes, prepare_features


def start_run(home, frame: pd.DataFrame, spec_fields: dict, **config) -> tuple[RunStore, str]:
    datasets = DatasetStore(home)
    meta = datasets.add(frame.to_csv(index=False).encode(), "table.csv")
    spec = DatasetSpec(dataset_id=meta.id, **spec_fields)
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(),
                             config=TrainConfig(**config).to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    return runs, run_id


LOANS = {"target": "approved", "positive_class": "yes",
         "features": ("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"),
         "sensitive": (SensitiveColumn("group"),)}


def test_run_stores_artifacts_that_reload_to_the_same_scores(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_DEVICE", "cpu")  # the device this test means, on a GPU machine too
    frame = synthetic_biased(1500, seed=4)
    frame.loc[[3, 10], "approved"] = None  # rows without a target are left out, never split
    runs, run_id = start_run(riskboard_home, frame, LOANS, epochs=6, batch_size=128)
    record = runs.get(run_id)
    assert record.status == SUCCEEDED, record.error
    assert record.device == "cpu"
    assert len(runs.epochs(run_id)) == record.metrics["epochs_run"]
    assert record.metrics["roc_auc"] > 0.75  # the synthetic signal is strong

    folder = runs.artifact_dir(run_id, create=False)
    split = artifacts.load_split(folder)
    everything = np.concatenate([split.train, split.val, split.test])
    assert len(everything) == len(set(everything.tolist())) == 1498
    assert 3 not in everything and 10 not in everything
    assert artifacts.load_labels(folder) == (("no", "yes"), 1)

    model = artifacts.load_model(folder)
    preprocessor = artifacts.load_preprocessor(folder)
    kinds = {c: ("numeric" if c not in ("segment", "group") else "categorical") for c in LOANS["features"]}
    prepared = prepare_features(DatasetStore(riskboard_home).load(record.dataset_id), LOANS["features"], kinds)
    x_test = preprocessor.transform(prepared.frame.iloc[split.test])
    proba = predict_proba(model, x_test, n_classes=2)
    scores = artifacts.load_test_scores(folder)
    assert scores["row"].tolist() == split.test.tolist()
    np.testing.assert_allclose(proba[:, 1], scores["score"].to_numpy(), atol=1e-6)
    evaluation = artifacts.load_evaluation(folder)
    assert json.loads(json.dumps(evaluation)) == evaluation
    assert evaluation["metrics"]["roc_auc"] == pytest.approx(record.metrics["roc_auc"])
    assert not list(folder.glob("*.pkl")) and not list(folder.glob("*.pt"))


def test_multiclass_target_trains_and_scores_the_chosen_class(riskboard_home):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((900, 2))
    label = np.select([x[:, 0] > 0.5, x[:, 1] > 0.3], ["high", "mid"], "low")
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "tier": label})
    runs, run_id = start_run(riskboard_home, frame, {"target": "tier", "positive_class": "mid",
                                                     "features": ("a", "b")}, epochs=8, batch_size=64)
    record = runs.get(run_id)
    assert record.status == SUCCEEDED, record.error
    classes, positive = artifacts.load_labels(runs.artifact_dir(run_id, create=False))
    assert classes == ("high", "low", "mid") and positive == 2
    assert record.metrics["accuracy"] > 0.8


def test_training_error_becomes_a_failed_run_with_its_message(riskboard_home, monkeypatch):
    def diverge(*args, **kwargs):
        raise TrainingError("the loss became NaN at epoch 2; lower the learning rate")

    monkeypatch.setattr("core.training._remote.fit", diverge)
    runs, run_id = start_run(riskboard_home, synthetic_biased(300, seed=1), LOANS, epochs=3)
    record = runs.get(run_id)
    assert record.status == FAILED
    assert record.error == "the loss became NaN at epoch 2; lower the learning rate"


def test_dates_become_days_and_booleans_stay_categorical():
    frame = pd.DataFrame({"when": ["2024-01-01", "2024-01-03", None], "flag": [True, False, True],
                          "n": [1, 2, 3]})
    prepared = prepare_features(frame, ("when", "flag", "n"), {"when": "datetime", "flag": "boolean",
                                                                "n": "numeric"})
    assert prepared.numeric == ["when", "n"] and prepared.categorical == ["flag"]
    assert prepared.frame["when"].tolist()[:2] == [19723.0, 19725.0]
    assert np.isnan(prepared.frame["when"].iloc[2])


def test_predicted_classes_respects_positive_index_and_threshold():
    proba = np.array([[0.3, 0.7], [0.8, 0.2]])
    assert predicted_classes(proba, positive_index=1, threshold=0.5).tolist() == [1, 0]
    assert predicted_classes(proba, positive_index=0, threshold=0.5).tolist() == [1, 0]
    assert predicted_classes(proba, positive_index=1, threshold=0.75).tolist() == [0, 0]
    three = np.array([[0.2, 0.5, 0.3]])
    assert predicted_classes(three, positive_index=2, threshold=0.5).tolist() == [1]


def test_batch_size_is_capped_so_small_tables_still_train():
    from core.training.budget import effective_batch_size

    assert effective_batch_size(1024, 560) == 70
    assert effective_batch_size(1024, 100_000) == 1024
    assert effective_batch_size(32, 560) == 32
    assert effective_batch_size(1024, 40) == 16


def test_too_wide_encoding_fails_before_allocating(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_MAX_MATRIX_MB", "1")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.choice([f"v{j}" for j in range(40)], 3000) for i in range(8)})
    frame["y"] = rng.choice(["a", "b"], 3000)
    runs, run_id = start_run(riskboard_home, frame, {"target": "y", "positive_class": "a",
                                                     "features": tuple(f"c{i}" for i in range(8))}, epochs=1)
    record = runs.get(run_id)
    assert record.status == FAILED
    assert "over the 1 MB limit (RISKBOARD_MAX_MATRIX_MB)" in record.error
    assert "Drop wide categorical features" in record.error
