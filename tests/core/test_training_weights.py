"""``fit(sample_weight=...)``: a row of weight 2 counts as that row twice, weight 0 as no row, all-ones as none."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import TrainingError
from core.training.config import TrainConfig
from core.training.loop import BAD_WEIGHTS, fit

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: tiny models, and on a shared 2-core machine spinning threads make timings a lottery."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -0.5, 0.2]) + rng.normal(size=n) > 0).astype(np.int64)
    return X, y


def _full_batch(n: int) -> TrainConfig:
    # one full-batch step per epoch: the loss is a plain weighted mean, so duplicating rows is exactly equivalent (the
    # minibatch loop: the exact L-BFGS solver is tested against scikit-learn in test_lbfgs.py)
    return TrainConfig(model="logistic", solver="minibatch", optimizer="sgd", learning_rate=0.5, momentum=0.0,
                       weight_decay=0.0, batch_size=n, epochs=5, early_stopping_patience=0)


def _weights(result):
    return np.concatenate([p.detach().numpy().ravel() for p in result.model.parameters()])


def test_integer_weights_equal_duplicated_rows_and_zero_weights_equal_dropped_rows():
    X, y = _data()
    w = np.where(np.arange(len(y)) % 3 == 0, 2.0, 1.0)
    w[::7] = 0.0
    weighted = fit(X, y, X[:50], y[:50], n_classes=2, config=_full_batch(len(y)), device=CPU, sample_weight=w)
    repeat = np.repeat(np.arange(len(y)), w.astype(int))
    copied = fit(X[repeat], y[repeat], X[:50], y[:50], n_classes=2, config=_full_batch(len(repeat)), device=CPU)
    np.testing.assert_allclose(_weights(weighted), _weights(copied), atol=1e-5)


def test_unit_or_scaled_weights_change_nothing():
    X, y = _data()
    config = TrainConfig(epochs=3, batch_size=64, early_stopping_patience=0)
    plain = fit(X, y, X[:50], y[:50], n_classes=2, config=config, device=CPU)
    ones = fit(X, y, X[:50], y[:50], n_classes=2, config=config, device=CPU, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_allclose(_weights(plain), _weights(ones), atol=1e-6)
    assert [r.val_loss for r in plain.history] == pytest.approx([r.val_loss for r in ones.history], abs=1e-6)


@pytest.mark.parametrize("bad", [np.ones(5), np.full(300, -1.0), np.zeros(300), np.full(300, np.nan)])
def test_bad_weights_are_refused(bad):
    X, y = _data()
    with pytest.raises(TrainingError, match=BAD_WEIGHTS[:30]):
        fit(X, y, X[:50], y[:50], n_classes=2, config=TrainConfig(epochs=1), device=CPU, sample_weight=bad)
