"""Data-parallel training on Ray Train: one worker and two workers train the model the one-process loop trains,
and DP-SGD keeps its accounting (noise once per global step, the sample rate over the whole table)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.training.config import TrainConfig
from core.training.loop import fit

DP = {"model": "mlp", "hidden": (8,), "epochs": 2, "batch_size": 64, "optimizer": "sgd", "learning_rate": 0.2,
      "momentum": 0.9, "early_stopping_patience": 0, "noise_multiplier": 1.1, "max_grad_norm": 1.0}


def _table(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ np.array([1.5, -1.0, 0.5, 0.0, 2.0]))))).astype(np.int64)
    return X, y


def _weights(result) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in result.model.parameters()]).numpy()


def _data_parallel(workers: int, config: TrainConfig, tmp_path, X, y, Xv, yv):
    from core.training.distributed import fit_data_parallel

    epochs: list[dict] = []
    result = fit_data_parallel(X, y, Xv, yv, n_classes=2, config=config, positive_index=1, workers=workers,
                               emit=lambda event: epochs.append(event["epoch"]) if "epoch" in event else None,
                               should_stop=None, device="cpu", scratch=tmp_path / f"w{workers}",
                               cpus_per_worker=0.5)
    return result, epochs


def _one_worker(config: TrainConfig, X, y, Xv, yv, report=None):
    """One worker's schedule without Ray: the arithmetic each Ray Train worker runs, on a shard in any order."""
    from core.training._distributed_step import Schedule, class_weight_list, run_epochs
    from core.training._plain_result import rebuild
    from core.training.distributed import _Sync

    schedule = Schedule(config=config, n_total=len(X), n_features=X.shape[1], n_classes=2, positive_index=1,
                        class_weights=class_weight_list(y, 2, config))
    shuffled = np.random.default_rng(0).permutation(len(X))
    out = run_epochs(schedule, shuffled, X[shuffled], y[shuffled], Xv, yv, device=torch.device("cpu"), sync=_Sync(),
                     report=report, should_stop=lambda: False)
    return rebuild(out, config, X.shape[1], 2)


ACCOUNTING = ("delta", "noise_multiplier", "sample_rate", "steps", "steps_per_epoch", "empty_batches")


def _same_private_model(result, local) -> None:
    assert {k: result.extra[k] for k in ACCOUNTING} == {k: local.extra[k] for k in ACCOUNTING}
    assert result.extra["epsilon"] == pytest.approx(local.extra["epsilon"], rel=1e-12)
    np.testing.assert_allclose(_weights(result), _weights(local), atol=2e-5)
    assert [h.val_loss for h in result.history] == pytest.approx([h.val_loss for h in local.history], abs=1e-5)


def test_dp_sgd_on_one_worker_equals_the_one_process_loop():
    X, y = _table(600, seed=0)
    Xv, yv = _table(150, seed=1)
    config = TrainConfig(**DP)
    local = fit(X, y, Xv, yv, n_classes=2, config=config, device=torch.device("cpu"))
    _same_private_model(_one_worker(config, X, y, Xv, yv), local)
    assert local.extra["sample_rate"] == pytest.approx(64 / 600)  # q over the whole table


@pytest.mark.timeout(900)  # Ray Train starts a controller and two worker actors: minutes on a loaded 2-core box
def test_dp_sgd_on_two_ray_train_workers_equals_one_worker(ray_session, tmp_path):
    """Two real Ray Train workers (torch.distributed sums their clipped gradients; each holds half the table) train
    the model one worker trains: noise once per global step, the sample rate over the whole table."""
    X, y = _table(600, seed=0)
    Xv, yv = _table(150, seed=1)
    config = TrainConfig(**DP)
    one = _one_worker(config, X, y, Xv, yv)
    two, epochs = _data_parallel(2, config, tmp_path, X, y, Xv, yv)
    _same_private_model(two, one)
    assert two.extra["sample_rate"] == pytest.approx(64 / 600)  # not 64 / 300, a worker's share
    assert [e["epoch"] for e in epochs] == [1, 2] and epochs[-1]["epsilon"] == pytest.approx(one.extra["epsilon"])
    assert not (tmp_path / "w2" / "ray-shards").exists()  # the shards are scratch, removed after training
    assert two.device == "cpu" and len(two.history) == 2


def test_the_plain_data_parallel_schedule_equals_the_one_process_loop():
    """Shuffled batches of the whole table, the loss normalised by the global batch (balanced class weights
    included), the same initial weights: one worker's plain schedule is the one-process loop."""
    X, y = _table(500, seed=2)
    Xv, yv = _table(120, seed=3)
    config = TrainConfig(model="mlp", hidden=(8,), epochs=3, batch_size=50, learning_rate=0.02,
                         class_weights="balanced")
    local = fit(X, y, Xv, yv, n_classes=2, config=config, device=torch.device("cpu"))
    epochs: list[dict] = []
    inline = _one_worker(config, X, y, Xv, yv, report=epochs.append)
    np.testing.assert_allclose(_weights(inline), _weights(local), atol=2e-5)
    assert [e["epoch"]["train_loss"] for e in epochs] == pytest.approx([h.train_loss for h in local.history],
                                                                       rel=1e-5)
    assert inline.best_epoch == local.best_epoch
