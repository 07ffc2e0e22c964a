"""Data-parallel training on Ray Train (``TorchTrainer``) for tables too large for one worker.

Used when a job runs on Ray with ``RISKBOARD_RAY_WORKERS`` > 1 (:mod:`core.training._remote`). The job's worker
writes the encoded training rows as one Parquet file per Ray Train worker, and the validation rows, into the run's
scratch folder in the workspace, sealed under the run's data key when the workspace is encrypted; each training
worker opens its own file with the key of its node's environment (:mod:`core.training._shards`). The folder (and
Ray Train's own storage folder) is removed when training ends, whether it succeeded, failed or was cancelled.

Every worker steps through the **same global schedule** as the one-process loops, drawn from the same seeded
generator on every worker, and works only on the scheduled rows it holds:

* plain training: one ``randperm`` of the whole table per epoch; a step's batch is the same slice as in the
  one-process loop; each worker sums the loss of its rows, the normaliser (rows or class weights) and the
  gradients are summed over workers (``all_reduce``), so the step is the one-process step;
* DP-SGD (as in the one-process loop): each row of the *whole* table joins a step with probability ``q = batch /
  N`` (the sample rate over the whole table, as the accountant assumes); each worker clips its sampled rows'
  gradients, the clipped sums are added over workers, then Gaussian noise is added **once per global step**: every
  worker draws the identical noise from the shared generator and adds it to the identical summed gradient, which is
  exactly one noisy sum, divided by the expected batch ``q N``. The accountant sees (sigma, q, steps) as in one
  process, so epsilon is unchanged by the number of workers.

The models stay identical on every worker (same seed, same summed update), so each validates and decides early
stopping identically; rank 0 reports epochs, and at the end the weights, through the job's event channel
(:mod:`core.jobs._ray`), and the caller logs them into the run store while training runs. With one worker the run
equals the one-process loop up to float summation order (``tests/core/test_distributed.py``).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import RiskboardError, RunCancelledError, TrainingError
from core.training._shards import VALIDATION, ShardFolder, write_shards
from core.training.config import TrainConfig
from core.training.loop import FitResult

SHARD_FOLDER = "ray-shards"
TRAIN_STORAGE = "ray-train"
FAILED = "data-parallel training on Ray failed: {reason}"


class _Sync:
    """Sums over workers; a no-op with one worker (also Ray Train's in-process mode, ``num_workers=0``)."""

    def __init__(self) -> None:
        import torch.distributed as dist

        self.dist = dist if dist.is_available() and dist.is_initialized() else None

    def total(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.dist is not None:
            self.dist.all_reduce(tensor)
        return tensor

    def any(self, flag: bool, device: torch.device) -> bool:
        value = torch.tensor([1.0 if flag else 0.0], device=device)
        return bool(self.total(value).item() > 0)

    def grads(self, params: list[torch.nn.Parameter]) -> None:
        if self.dist is None:
            return
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        self.dist.all_reduce(flat)
        offset = 0
        for p in params:
            p.grad.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def train_loop(cfg: dict[str, Any]) -> None:
    """``train_loop_per_worker``: every worker runs this; rank 0 reports. See the module docstring."""
    import ray
    import ray.train

    control = cfg["control"]
    rank = ray.train.get_context().get_world_rank()
    try:
        _train(cfg, rank, control)
    except RiskboardError as exc:
        if rank == 0:
            ray.get(control.put.remote({"error": str(exc), "cancelled": isinstance(exc, RunCancelledError)}))
        raise


def _train(cfg: dict[str, Any], rank: int, control: Any) -> None:
    import ray
    import ray.train

    from core.training._distributed_step import Schedule, run_epochs

    n_features = int(cfg["n_features"])
    shards: ShardFolder = cfg["shards"]
    where = _node()
    rows, X, y = shards.read(shards.part(rank), n_features, where["node_ip"])
    _, X_val, y_val = shards.read(VALIDATION, n_features, where["node_ip"])
    device = _worker_device(cfg)
    if rank == 0:
        ray.get(control.put.remote({"device": str(device), "placement": where}))
    schedule = Schedule(config=TrainConfig.from_dict(cfg["config"]), n_total=int(cfg["n_total"]),
                        n_features=n_features, n_classes=int(cfg["n_classes"]),
                        positive_index=int(cfg["positive_index"]), class_weights=cfg["class_weights"])
    stopped = _RemoteFlag(control)

    def report(event: dict[str, Any]) -> None:
        ray.get(control.put.remote(event))

    out = run_epochs(schedule, rows, X, y, X_val, y_val, device=device, sync=_Sync(),
                     report=report if rank == 0 else None, should_stop=stopped)
    if rank == 0:
        ray.get(control.put.remote({"result": out}))


def _worker_device(cfg: dict[str, Any]) -> torch.device:
    if cfg["use_gpu"]:
        import ray.train.torch

        return ray.train.torch.get_device()
    return torch.device("cpu")


def _node() -> dict[str, Any]:
    from core.jobs._ray import node_event

    return node_event()


class _RemoteFlag:
    def __init__(self, control: Any) -> None:
        self._control = control

    def __call__(self) -> bool:
        import ray

        return bool(ray.get(self._control.stopped.remote()))


def fit_data_parallel(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *,
                      n_classes: int, config: TrainConfig, positive_index: int, workers: int,
                      emit: Callable[[Mapping[str, Any]], None], should_stop: Callable[[], bool] | None,
                      device: str | None, scratch: Path, home: Path, key_id: str,
                      cpus_per_worker: float = 1.0) -> FitResult:
    """Train with ``workers`` Ray Train workers (0: Ray Train's in-process mode); returns the rebuilt result.

    ``scratch`` is a folder inside the workspace ``home`` (the run's folder); the shard files go there, sealed under
    the data key ``key_id`` (the run's) when the workspace is encrypted, and are removed however training ends."""
    from core.jobs import _ray
    from core.training._distributed_step import class_weight_list
    from core.training._plain_result import rebuild

    ray = _ray.connect()
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    use_gpu = _ray.gpu_request(float(ray.cluster_resources().get("GPU", 0)), device) > 0
    shards = ShardFolder(home=Path(home), folder=Path(scratch) / SHARD_FOLDER, key_id=key_id)
    control = _ray.control_actor()
    try:
        write_shards(shards, X_train, y_train, X_val, y_val, workers)
        loop_config = {"control": control, "shards": shards, "config": config.to_dict(),
                       "n_total": len(X_train), "n_features": X_train.shape[1], "n_classes": n_classes,
                       "positive_index": positive_index, "use_gpu": use_gpu,
                       "class_weights": class_weight_list(y_train, n_classes, config)}
        resources = {"CPU": cpus_per_worker} | ({"GPU": 1} if use_gpu else {})
        trainer = TorchTrainer(train_loop, train_loop_config=loop_config,
                               scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu,
                                                            resources_per_worker=resources if workers else None),
                               run_config=RunConfig(storage_path=str(Path(scratch) / TRAIN_STORAGE), name="fit"))
        out = _drive(ray, trainer, control, emit, should_stop or (lambda: False))
    finally:
        ray.kill(control)
        shards.remove()
        shutil.rmtree(Path(scratch) / TRAIN_STORAGE, ignore_errors=True)
    return rebuild(out, config, X_train.shape[1], n_classes)


def _drive(ray: Any, trainer: Any, control: Any, emit: Callable[[Mapping[str, Any]], None],
           should_stop: Callable[[], bool]) -> dict[str, Any]:
    """Run ``trainer.fit()`` in a thread; meanwhile forward events to ``emit`` and a cancel to the workers."""
    outcome: dict[str, Any] = {}

    def fit() -> None:
        try:
            trainer.fit()
        except Exception as exc:  # noqa: BLE001 - inspected below, with the events the workers sent
            outcome["error"] = exc

    thread = threading.Thread(target=fit, name="ray-train-fit", daemon=True)
    thread.start()
    cancelled, result, failure = False, None, None
    while True:
        alive = thread.is_alive()
        for event in ray.get(control.drain.remote()):
            if "result" in event:
                result = event["result"]
            elif "error" in event:
                failure = event
            else:
                emit(event)
        if not alive:
            break
        if not cancelled and should_stop():
            cancelled = True
            control.stop.remote()
        time.sleep(0.25)
    if cancelled or (failure and failure.get("cancelled")):
        raise RunCancelledError("cancelled by the user (the Ray Train workers stopped)")
    if failure is not None:
        raise TrainingError(str(failure["error"]))
    if result is None:
        error = outcome.get("error")
        reason = "its workers ended without a result" if error is None else _short(error)
        raise TrainingError(FAILED.format(reason=reason))
    return result


def _short(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    return text if len(text) <= 300 else text[:297] + "..."
