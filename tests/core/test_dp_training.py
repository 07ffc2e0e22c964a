"""DP-SGD training: noise collapses the model, target epsilon never overshoots, empty batches, no layer swaps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from core.dp import compute_epsilon
from core.errors import ConfigError
from core.training.config import TrainConfig
from core.training.loop import fit


def _data(n: int, seed: int = 0, d: int = 6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    logit = 2.0 * X[:, 0] - 1.5 * X[:, 1] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return X, y


def _fit(config: TrainConfig, n: int = 600):
    X, y = _data(n)
    Xv, yv = _data(300, seed=1)
    epochs = []
    result = fit(X, y, Xv, yv, n_classes=2, config=config, device=torch.device("cpu"), on_epoch=epochs.append)
    return result, epochs, (Xv, yv)


def test_huge_noise_collapses_to_the_majority_baseline():
    knobs = {"model": "logistic", "epochs": 4, "batch_size": 64, "learning_rate": 0.05, "early_stopping_patience": 0}
    result, epochs, (_Xv, yv) = _fit(TrainConfig(noise_multiplier=1000.0, accountant="rdp", **knobs))
    majority = max(yv.mean(), 1 - yv.mean())
    _, plain_epochs, _ = _fit(TrainConfig(**knobs))
    assert plain_epochs[-1].val_accuracy > majority + 0.1 and plain_epochs[-1].val_auc > 0.8
    # the noisy model learned nothing: no better than always predicting the majority class, ranking at chance
    assert epochs[-1].val_accuracy <= majority + 0.03
    assert abs(epochs[-1].val_auc - 0.5) < 0.12
    assert result.extra["noise_multiplier"] == 1000.0 and result.extra["epsilon"] < 0.2


def test_target_epsilon_is_never_overshot_and_logged_each_epoch():
    accountant = "rdp"
    config = TrainConfig(model="mlp", hidden=(16,), target_epsilon=2.0, delta=1e-4, epochs=4, batch_size=50,
                         accountant=accountant, early_stopping_patience=0, max_grad_norm=0.8)
    result, epochs, _ = _fit(config)
    extra = result.extra
    assert extra["steps"] == 4 * 12 and extra["sample_rate"] == pytest.approx(50 / 600)
    assert extra["accountant"] == accountant and extra["delta"] == 1e-4 and extra["max_grad_norm"] == 0.8
    spent = [e.epsilon for e in epochs]
    assert all(a < b for a, b in itertools.pairwise(spent))
    assert spent[-1] == pytest.approx(extra["epsilon"])
    assert 0.98 * 2.0 <= extra["epsilon"] <= 2.0
    again = compute_epsilon(noise_multiplier=extra["noise_multiplier"], sample_rate=extra["sample_rate"],
                            steps=extra["steps"], delta=1e-4, accountant=accountant)
    assert again.epsilon == pytest.approx(extra["epsilon"])


def test_prv_run_records_its_accountant():
    result, epochs, _ = _fit(TrainConfig(model="logistic", noise_multiplier=1.2, epochs=2, batch_size=100))
    extra = result.extra
    assert extra["accountant"] == "prv" and extra["accountant_note"] is None
    prv = compute_epsilon(noise_multiplier=1.2, sample_rate=100 / 600, steps=12, delta=1e-5)
    assert epochs[-1].epsilon == pytest.approx(prv.epsilon) and prv.accountant == "prv"


def test_empty_poisson_batches_are_survived_and_counted():
    # 20 rows, expected batch 1: P(empty) = (1 - 1/20)^20 ~ 36% of the 40 steps
    X, y = _data(20)
    config = TrainConfig(model="logistic", noise_multiplier=1.0, epochs=2, batch_size=1, accountant="rdp",
                         early_stopping_patience=0)
    result = fit(X, y, X, y, n_classes=2, config=config, device=torch.device("cpu"))
    assert result.extra["empty_batches"] > 0 and result.extra["steps"] == 40
    assert all(torch.isfinite(p).all() for p in result.model.parameters())


def test_default_delta_is_below_one_over_n_and_recorded():
    result, _, _ = _fit(TrainConfig(model="logistic", noise_multiplier=2.0, epochs=1, batch_size=64,
                                    accountant="rdp"))
    assert result.extra["delta"] == 1e-5 < 1 / 600


def test_private_model_has_no_groupnorm_or_batchnorm():
    result, _, _ = _fit(TrainConfig(model="mlp", hidden=(8, 8), layernorm=True, noise_multiplier=1.0, epochs=1,
                                    batch_size=64, accountant="rdp"))
    kinds = {type(m) for m in result.model.modules()}
    assert nn.LayerNorm in kinds
    assert not kinds & {nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d}


def test_private_run_learns_with_moderate_noise():
    config = TrainConfig(model="logistic", target_epsilon=4.0, epochs=8, batch_size=64, accountant="rdp",
                         learning_rate=0.05, early_stopping_patience=0)
    _, epochs, (_, _yv) = _fit(config, n=2000)
    assert epochs[-1].val_auc > 0.8


def test_privacy_options_are_validated():
    with pytest.raises(ConfigError, match="not both"):
        TrainConfig(target_epsilon=1.0, noise_multiplier=1.0).validate()
    with pytest.raises(ConfigError, match=r"delta must be above 0 and below 0\.01"):
        TrainConfig(target_epsilon=1.0, delta=0.5).validate()
    with pytest.raises(ConfigError, match="accountant must be one of prv, rdp"):
        TrainConfig(target_epsilon=1.0, accountant="gdp").validate()
    config = TrainConfig.from_dict({"target_epsilon": 1, "max_grad_norm": 2})
    assert config.private and config.target_epsilon == 1.0 and not TrainConfig().private


def test_sample_weights_reach_the_private_loss():
    X, y = _data(300)
    config = TrainConfig(model="logistic", noise_multiplier=0.5, epochs=2, batch_size=32, accountant="rdp",
                         early_stopping_patience=0, learning_rate=0.05)

    def weights_of(sample_weight):
        result = fit(X, y, X, y, n_classes=2, config=config, device=torch.device("cpu"), sample_weight=sample_weight)
        return torch.cat([p.detach().flatten() for p in result.model.parameters()])

    plain = weights_of(None)
    assert torch.equal(plain, weights_of(np.full(300, 2.0)))  # rescaled to mean 1: the same run
    tilted = weights_of(np.where(y == 1, 5.0, 0.2))
    assert not torch.allclose(plain, tilted)
