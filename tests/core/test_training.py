"""Training options and the training loop: convergence, failures, cancel, determinism, early stopping, quality."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from core.errors import ConfigError, RunCancelledError, TrainingError
from core.models import TabularPreprocessor, stratified_split
from core.training import loop
from core.training._objective import all_finite
from core.training.config import TrainConfig
from core.training.loop import EpochRecord, fit, predict_proba

CPU = torch.device("cpu")
ADULT = Path(__file__).resolve().parents[2] / "data" / "adult.csv.gz"
ADULT_NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]




@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these models are tiny, and on a shared 2-core box two spinning threads can be 10-100x
    slower when another process holds a core (measured), which would make the suite's timing a lottery."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------------------ config
def test_defaults_are_valid_and_every_knob_has_help() -> None:
    config = TrainConfig().validate()
    help_text = TrainConfig.help()
    assert set(help_text) == set(config.to_dict())
    assert all(len(text) > 20 for text in help_text.values())


def test_config_round_trip_and_missing_keys() -> None:
    config = TrainConfig(model="logistic", hidden=(128, 64, 32), learning_rate=0.01, class_weights="balanced")
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and isinstance(again.hidden, tuple)
    assert TrainConfig.from_dict({"epochs": 5}) == TrainConfig(epochs=5)  # older stored runs: defaults fill in
    assert TrainConfig.from_dict({"learning_rate": 1}).learning_rate == 1.0


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown training option\(s\) 'learning_rte'; known options are model"):
        TrainConfig.from_dict({"learning_rte": 0.1})
    with pytest.raises(ConfigError, match="must be a mapping"):
        TrainConfig.from_dict([("epochs", 3)])


@pytest.mark.parametrize(("changes", "message"), [
    ({"model": "svm"}, "model must be one of logistic, mlp"),
    ({"hidden": (64, -1)}, "hidden layer sizes"),
    ({"dropout": 1.5}, "dropout"),
    ({"epochs": 0}, "epochs must be a whole number from 1"),
    ({"batch_size": 2.5}, "batch_size must be a whole number"),
    ({"optimizer": "adam"}, "optimizer must be one of adamw, sgd"),
    ({"learning_rate": 0.0}, "learning_rate must be above 0"),
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"weight_decay": -1e-3}, "weight_decay"),
    ({"momentum": 1.0}, "momentum"),
    ({"early_stopping_patience": -1}, "early_stopping_patience"),
    ({"class_weights": "auto"}, "class_weights must be one of none, balanced"),
    ({"seed": -5}, "seed"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "together must be below 0.9"),
    ({"threshold": 1.0}, "threshold"),
    ({"layernorm": "yes"}, "layernorm"),
])
def test_config_validation_messages(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes).validate()


# ------------------------------------------------------------------------------------------------- small data
def _logistic_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    w, b = np.array([1.5, -2.0, 0.5]), -0.3
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w + b)))).astype(np.int64)
    return X, y, w, b


def test_logistic_recovers_generating_coefficients() -> None:
    X, y, w, b = _logistic_data(20_000)
    config = TrainConfig(model="logistic", learning_rate=0.05, batch_size=1024, epochs=15, weight_decay=0.0,
                         early_stopping_patience=0)
    result = fit(X[:16_000], y[:16_000], X[16_000:], y[16_000:], n_classes=2, config=config, device=CPU)
    linear = result.model.linear
    np.testing.assert_allclose(linear.weight.detach().numpy().ravel(), w, atol=0.15)
    assert linear.bias.item() == pytest.approx(b, abs=0.15)


def test_separable_problem_is_learned_perfectly() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2)).astype(np.float32)
    X[:, 0] += np.where(X[:, 0] > 0, 1.0, -1.0)  # margin of 2 around x0 = 0
    y = (X[:, 0] > 0).astype(np.int64)
    config = TrainConfig(model="logistic", learning_rate=0.1, batch_size=64, epochs=20, early_stopping_patience=0)
    result = fit(X[:400], y[:400], X[400:], y[400:], n_classes=2, config=config, device=CPU)
    assert result.history[-1].val_accuracy == 1.0 and result.history[-1].val_auc == 1.0


def test_history_records_and_callback() -> None:
    X, y, _, _ = _logistic_data(1000)
    seen: list[EpochRecord] = []
    config = TrainConfig(epochs=4, batch_size=128, early_stopping_patience=0)
    result = fit(X[:800], y[:800], X[800:], y[800:], n_classes=2, config=config, device=CPU, on_epoch=seen.append)
    assert seen == result.history and [r.epoch for r in seen] == [1, 2, 3, 4]
    assert all(a.seconds <= b.seconds for a, b in itertools.pairwise(seen))
    assert result.best_epoch == 4 and not result.stopped_early and result.device == "cpu"
    assert set(seen[0].to_dict()) == {"epoch", "train_loss", "val_loss", "val_accuracy", "val_auc", "seconds"}
    assert not result.model.training and next(result.model.parameters()).device == CPU


def test_same_seed_same_history_and_weights() -> None:
    X, y, _, _ = _logistic_data(2000)
    config = TrainConfig(epochs=3, batch_size=100, dropout=0.2, seed=11)

    def run(cfg: TrainConfig):
        result = fit(X[:1500], y[:1500], X[1500:], y[1500:], n_classes=2, config=cfg, device=CPU)
        losses = [(r.train_loss, r.val_loss, r.val_accuracy, r.val_auc) for r in result.history]
        return losses, [p.detach().clone() for p in result.model.parameters()]

    first, second, other = run(config), run(config), run(TrainConfig(epochs=3, batch_size=100, dropout=0.2, seed=12))
    assert first[0] == second[0]
    assert all(torch.equal(a, b) for a, b in zip(first[1], second[1], strict=True))
    assert first[0] != other[0]


def test_early_stopping_restores_the_best_weights() -> None:
    """Random labels: the MLP memorises the training rows and the validation loss climbs after epoch 2."""
    rng = np.random.default_rng(0)
    X, Xv = rng.normal(size=(300, 20)).astype(np.float32), rng.normal(size=(300, 20)).astype(np.float32)
    y, yv = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    config = TrainConfig(hidden=(128, 128), learning_rate=1e-2, epochs=100, batch_size=64, early_stopping_patience=3)
    result = fit(X, y, Xv, yv, n_classes=2, config=config, device=CPU)
    losses = [r.val_loss for r in result.history]
    assert result.stopped_early and len(losses) == result.best_epoch + 3
    assert result.best_epoch == int(np.argmin(losses)) + 1
    proba = predict_proba(result.model, Xv, n_classes=2)
    restored = -np.mean(np.log(np.where(yv == 1, proba[:, 1], proba[:, 0])))
    assert restored == pytest.approx(losses[result.best_epoch - 1], rel=1e-5)
    assert restored < losses[-1]


def test_three_classes_train_and_predict() -> None:
    rng = np.random.default_rng(0)
    centers = np.array([[0, 3], [3, -2], [-3, -2]], dtype=np.float32)
    y = rng.integers(0, 3, 1500)
    X = (centers[y] + rng.normal(size=(1500, 2))).astype(np.float32)
    for weights in ("none", "balanced"):
        config = TrainConfig(epochs=10, batch_size=64, learning_rate=1e-2, class_weights=weights)
        result = fit(X[:1200], y[:1200], X[1200:], y[1200:], n_classes=3, config=config, device=CPU,
                     positive_index=2)
        assert result.history[-1].val_accuracy > 0.95 and result.history[-1].val_auc > 0.98
        proba = predict_proba(result.model, X[1200:], n_classes=3)
        assert proba.shape == (300, 3) and proba.dtype == np.float64
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


def test_balanced_weights_raise_recall_on_the_rare_class() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 3)).astype(np.float32)
    y = (X[:, 0] + 0.8 * rng.normal(size=4000) > 1.6).astype(np.int64)  # about 8% positive
    recall = {}
    for weights in ("none", "balanced"):
        config = TrainConfig(model="logistic", epochs=10, learning_rate=0.02, class_weights=weights)
        result = fit(X[:3000], y[:3000], X[3000:], y[3000:], n_classes=2, config=config, device=CPU)
        predicted = predict_proba(result.model, X[3000:], n_classes=2)[:, 1] >= 0.5
        recall[weights] = predicted[y[3000:] == 1].mean()
    assert recall["balanced"] > recall["none"] + 0.2


def test_predict_proba_binary_matches_the_logit_and_leaves_the_model_alone() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).train()
    X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    proba = predict_proba(model, X, n_classes=2, batch=4)
    p = torch.sigmoid(model(torch.from_numpy(X)).double()).detach().numpy().ravel()
    np.testing.assert_allclose(proba[:, 1], p, rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-15)
    assert model.training


# ----------------------------------------------------------------------------------------------------- failures
def test_exploding_loss_becomes_a_clear_training_error() -> None:
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(200, 4)) * 1e3).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    config = TrainConfig(optimizer="sgd", learning_rate=10.0, batch_size=32, epochs=20)
    with pytest.raises(TrainingError, match=r"loss became NaN at epoch \d+ .*lower the learning rate \(now 10.0\)"):
        fit(X, y, X, y, n_classes=2, config=config, device=CPU)


def test_accelerator_style_checks_give_the_same_losses_and_catch_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a GPU the loss is summed on the device and checked every 32 steps; exercise that path on the CPU."""
    X, y, _, _ = _logistic_data(3000)
    config = TrainConfig(epochs=2, batch_size=64, early_stopping_patience=0)
    every_step = fit(X[:2500], y[:2500], X[2500:], y[2500:], n_classes=2, config=config, device=CPU)
    monkeypatch.setattr(loop, "_check_interval", lambda device: 32)
    batched = fit(X[:2500], y[:2500], X[2500:], y[2500:], n_classes=2, config=config, device=CPU)
    for a, b in zip(every_step.history, batched.history, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-5) and b.val_loss == a.val_loss
    rng = np.random.default_rng(0)
    big = (rng.normal(size=(200, 4)) * 1e3).astype(np.float32)
    with pytest.raises(TrainingError, match=r"loss became NaN at epoch \d+( \(by batch \d+\))?; lower"):
        fit(big, (big[:, 0] > 0).astype(np.int64), big, (big[:, 0] > 0).astype(np.int64), n_classes=2,
            config=TrainConfig(optimizer="sgd", learning_rate=10.0, batch_size=32, epochs=20), device=CPU)


def test_non_finite_features_and_bad_labels_are_refused() -> None:
    X, y, _, _ = _logistic_data(100)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(TrainingError, match="training features contain NaN"):
        fit(bad, y, X, y, n_classes=2, config=TrainConfig(epochs=1), device=CPU)
    with pytest.raises(TrainingError, match="labels must be class indices from 0 to 1; found 2"):
        fit(X, np.where(y == 1, 2, 0), X, y, n_classes=2, config=TrainConfig(epochs=1), device=CPU)
    with pytest.raises(TrainingError, match="3 training vs 2 validation columns"):
        fit(X, y, X[:, :2], y, n_classes=2, config=TrainConfig(epochs=1), device=CPU)
    with pytest.raises(ConfigError, match="epochs"):
        fit(X, y, X, y, n_classes=2, config=TrainConfig(epochs=0), device=CPU)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_all_finite_finds_one_bad_value_anywhere(bad: float, dtype: torch.dtype) -> None:
    table = torch.linspace(-3e38 if dtype == torch.float32 else -1e300, 1e30, 600, dtype=dtype).reshape(200, 3)
    assert all_finite(table) and all_finite(table[:0])
    for row, column in ((0, 0), (117, 1), (199, 2)):
        damaged = table.clone()
        damaged[row, column] = bad
        assert not all_finite(damaged)
        assert all_finite(damaged[row + 1:])  # the damage is only where it was put


def test_should_stop_cancels_the_run() -> None:
    X, y, _, _ = _logistic_data(500)
    with pytest.raises(RunCancelledError, match="cancelled by the user during epoch 1"):
        fit(X, y, X, y, n_classes=2, config=TrainConfig(epochs=5), device=CPU, should_stop=lambda: True)
    seen: list[EpochRecord] = []
    with pytest.raises(RunCancelledError, match="epoch 3"):
        fit(X, y, X, y, n_classes=2, config=TrainConfig(epochs=5, early_stopping_patience=0), device=CPU,
            on_epoch=seen.append, should_stop=lambda: len(seen) >= 2)
    assert len(seen) == 2


class _Exploding(torch.nn.Module):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)
        self.error = error

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise self.error


@pytest.mark.parametrize("error", [torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"),
                                   RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)")])
def test_out_of_memory_becomes_a_training_error(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    monkeypatch.setattr(loop, "build_model", lambda *args: _Exploding(error))
    X, y, _, _ = _logistic_data(100)
    with pytest.raises(TrainingError, match=r"ran out of memory .* batch size 512; lower the batch size .* 128"):
        fit(X, y, X, y, n_classes=2, config=TrainConfig(batch_size=512), device=CPU)


def test_other_runtime_errors_are_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop, "build_model", lambda *args: _Exploding(RuntimeError("shape mismatch")))
    X, y, _, _ = _logistic_data(100)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        fit(X, y, X, y, n_classes=2, config=TrainConfig(), device=CPU)


# ------------------------------------------------------------------------------------------------ demo quality
@pytest.fixture(scope="module")
def adult() -> dict[str, np.ndarray]:
    frame = pd.read_csv(ADULT)
    y = (frame.pop("income") == ">50K").to_numpy().astype(np.int64)
    split = stratified_split(y, seed=0)
    categorical = [c for c in frame.columns if c not in ADULT_NUMERIC]
    pre = TabularPreprocessor(numeric=ADULT_NUMERIC, categorical=categorical).fit(frame.iloc[split.train])
    X = pre.transform(frame)
    return {"X_train": X[split.train], "y_train": y[split.train], "X_val": X[split.val], "y_val": y[split.val],
            "X_test": X[split.test], "y_test": y[split.test]}


def _test_auc(adult: dict[str, np.ndarray], config: TrainConfig) -> float:
    result = fit(adult["X_train"], adult["y_train"], adult["X_val"], adult["y_val"], n_classes=2, config=config,
                 device=CPU)
    return roc_auc_score(adult["y_test"], predict_proba(result.model, adult["X_test"], n_classes=2)[:, 1])


def test_default_mlp_on_adult(adult: dict[str, np.ndarray]) -> None:
    assert _test_auc(adult, TrainConfig()) >= 0.90


def test_logistic_matches_sklearn_on_adult(adult: dict[str, np.ndarray]) -> None:
    reference = SkLogisticRegression(max_iter=5000).fit(adult["X_train"], adult["y_train"])
    expected = roc_auc_score(adult["y_test"], reference.predict_proba(adult["X_test"])[:, 1])
    ours = _test_auc(adult, TrainConfig(model="logistic"))
    assert math.isclose(ours, expected, abs_tol=0.005), (ours, expected)
