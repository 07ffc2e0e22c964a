"""Data-parallel training on Ray Train: one worker and two workers train the model the one-process loop trains,
and DP-SGD keeps its accounting (noise once per global step, the sample rate over the whole table)."""

from __future__ import annotations

import base64

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


def _data_parallel(workers: int, config: TrainConfig, home, X, y, Xv, yv, emit=None):
    from core.security.at_rest import run_key_id
    from core.training.distributed import fit_data_parallel

    epochs: list[dict] = []

    def collect(event: dict) -> None:
        if "epoch" in event:
            epochs.append(event["epoch"])
            if emit is not None:
                emit(event)

    result = fit_data_parallel(X, y, Xv, yv, n_classes=2, config=config, positive_index=1, workers=workers,
                               emit=collect, should_stop=None, device="cpu", scratch=home / "runs" / RUN,
                               home=home, key_id=run_key_id(RUN), cpus_per_worker=0.5)
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


MARKS = {"a training cell": 1234.5677, "a validation cell": -987.65436}
RUN = "dp-run"


def _with_marks() -> tuple[np.ndarray, ...]:
    """The test table with two cells no other cell equals, to look for in every stored byte."""
    X, y = _table(600, seed=0)
    Xv, yv = _table(150, seed=1)
    X[17, 3], Xv[5, 1] = MARKS["a training cell"], MARKS["a validation cell"]
    return X, y, Xv, yv


def _plaintext_in(folder, secrets: list[bytes]) -> list[str]:
    """Files under ``folder`` holding any of ``secrets`` as raw bytes."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [str(path.relative_to(folder)) for secret in secrets if secret in data]
    return found


def _secrets(key_file) -> list[bytes]:
    key_text = key_file.read_text().strip()
    return [np.float32(v).tobytes() for v in MARKS.values()] + [key_text.encode(), base64.b64decode(key_text)]


def test_shard_files_are_sealed_on_an_encrypted_workspace_and_open_to_the_same_rows(riskboard_home, tmp_path,
                                                                                    monkeypatch):
    """The files carrying rows to the workers: plain Parquet without a key (the marked cells are found, so the
    search below can fail), sealed and bound to their path with one, opening to exactly the rows written."""
    from core.errors import EncryptionError
    from core.security.keys import new_master_key
    from core.training._shards import VALIDATION, ShardFolder, write_shards

    X, y, Xv, yv = _with_marks()
    plain = ShardFolder(home=tmp_path, folder=tmp_path / "plain", key_id="run-plain")
    write_shards(plain, X, y, Xv, yv, workers=2)
    assert _plaintext_in(plain.folder, [np.float32(v).tobytes() for v in MARKS.values()]) == \
        ["part-0000.parquet", VALIDATION]
    monkeypatch.setenv("RISKBOARD_DATA_KEY", new_master_key())
    sealed = ShardFolder(home=riskboard_home, folder=riskboard_home / "runs" / RUN / "ray-shards", key_id="run-x")
    write_shards(sealed, X, y, Xv, yv, workers=2)
    assert _plaintext_in(riskboard_home, [np.float32(v).tobytes() for v in MARKS.values()]) == []
    for name in ("part-0000.parquet", "part-0001.parquet", VALIDATION):
        for got, want in zip(sealed.read(name, 5, "here"), plain.read(name, 5, "here"), strict=True):
            np.testing.assert_array_equal(got, want)
    rows, X0, y0 = sealed.read("part-0001.parquet", 5, "here")
    np.testing.assert_array_equal(rows, np.arange(300, 600))
    np.testing.assert_array_equal(X0, X[300:]), np.testing.assert_array_equal(y0, y[300:])
    (sealed.folder / "part-0000.parquet").write_bytes((sealed.folder / "part-0001.parquet").read_bytes())
    with pytest.raises(EncryptionError, match=r"^a Ray Train worker on node here cannot open .*integrity check"):
        sealed.read("part-0000.parquet", 5, "here")  # a file swapped with another worker's does not open
    monkeypatch.delenv("RISKBOARD_DATA_KEY")
    with pytest.raises(EncryptionError, match="RISKBOARD_DATA_KEY_FILE set to the workspace's key"):
        sealed.read(VALIDATION, 5, "here")  # a node started without the key says what to do


@pytest.mark.timeout(900)  # Ray Train starts a controller and two worker actors: minutes on a loaded 2-core box
def test_dp_sgd_on_two_ray_train_workers_of_an_encrypted_workspace_equals_one_worker(
        ray_session, ray_node_key_file, riskboard_home, monkeypatch):
    """Two real Ray Train workers (torch.distributed sums their clipped gradients; each holds half the table) train
    the model the unencrypted one-worker schedule trains: noise once per global step, the sample rate over the
    whole table. The workspace is encrypted: the workers open their sealed shards with the key of their node's
    environment, and no training or validation cell (nor the key) is in any workspace file during or after."""
    X, y, Xv, yv = _with_marks()
    config = TrainConfig(**DP)
    one = _one_worker(config, X, y, Xv, yv)
    monkeypatch.setenv("RISKBOARD_DATA_KEY_FILE", str(ray_node_key_file))
    shards = riskboard_home / "runs" / RUN / "ray-shards"
    during: list[tuple[list[str], list[str]]] = []
    two, epochs = _data_parallel(2, config, riskboard_home, X, y, Xv, yv, emit=lambda event: during.append(
        (sorted(p.name for p in shards.iterdir()), _plaintext_in(riskboard_home, _secrets(ray_node_key_file)))))
    _same_private_model(two, one)
    assert two.extra["sample_rate"] == pytest.approx(64 / 600)  # not 64 / 300, a worker's share
    assert [e["epoch"] for e in epochs] == [1, 2] and epochs[-1]["epsilon"] == pytest.approx(one.extra["epsilon"])
    assert during == [(["part-0000.parquet", "part-0001.parquet", "validation.parquet"], [])] * 2
    assert not shards.exists() and not (riskboard_home / "runs" / RUN / "ray-train").exists()  # scratch, removed
    assert _plaintext_in(riskboard_home, _secrets(ray_node_key_file)) == []
    assert two.device == "cpu" and len(two.history) == 2


def test_a_cancelled_or_failed_data_parallel_run_removes_its_shards(ray_session, riskboard_home, monkeypatch):
    from core.errors import RunCancelledError
    from core.training import distributed

    seen: list[list[str]] = []

    def cancelled(ray, trainer, control, emit, should_stop):
        seen.append(sorted(p.name for p in (riskboard_home / "runs" / RUN / "ray-shards").iterdir()))
        raise RunCancelledError("cancelled by the user")

    monkeypatch.setattr(distributed, "_drive", cancelled)
    X, y, Xv, yv = _with_marks()
    with pytest.raises(RunCancelledError):
        _data_parallel(2, TrainConfig(**DP), riskboard_home, X, y, Xv, yv)
    assert seen == [["part-0000.parquet", "part-0001.parquet", "validation.parquet"]]
    assert list((riskboard_home / "runs" / RUN).iterdir()) == []


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


def test_a_data_parallel_run_puts_its_shards_in_its_folder_under_its_own_data_key(riskboard_home, monkeypatch):
    """The run's folder inside the workspace and the run's data key (destroyed with the run) reach the shards."""
    from core.data.demo import synthetic_biased
    from core.training import distributed
    from tests.core.test_pipeline import LOANS, start_run

    seen: dict = {}

    def in_this_process(X, y, Xv, yv, *, n_classes, config, positive_index, **where):
        seen.update(where)
        return fit(X, y, Xv, yv, n_classes=n_classes, config=config, positive_index=positive_index,
                   device=torch.device("cpu"))

    monkeypatch.setattr(distributed, "fit_data_parallel", in_this_process)
    monkeypatch.setenv("RISKBOARD_EXECUTOR", "ray")
    monkeypatch.setenv("RISKBOARD_RAY_WORKERS", "2")
    runs, run_id = start_run(riskboard_home, synthetic_biased(300, seed=1), LOANS, model="mlp", hidden=(8,),
                             epochs=1, batch_size=64)
    assert runs.get(run_id).error is None
    assert (seen["home"], seen["scratch"], seen["key_id"], seen["workers"]) == \
        (riskboard_home, riskboard_home / "runs" / run_id, f"run-{run_id}", 2)
