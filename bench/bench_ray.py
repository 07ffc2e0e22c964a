"""Benchmark: the Ray executor against the embedded one, on a two-node local Ray (``ray.cluster_utils.Cluster``).

Rows printed (one table, markdown):

* a membership audit with K reference models (offline LiRA; default K = 16) trained one after another in this
  process, against one Ray task per reference model spread over the two nodes; the audit's numbers must be equal
  (checked and printed);
* training on a large synthetic table (default 1,000,000 rows x 50 features, MLP 64-32, 2 epochs): one process,
  Ray Train with one worker and with two workers (``RISKBOARD_RAY_WORKERS``), with the validation log-loss of
  each (equal models give equal losses).

Both nodes live on this machine, so the speed-up is bounded by its cores; on a real cluster each node brings its
own. The audit rows are timed after a warm-up audit (Ray starts one worker process per CPU, and each imports torch
once); Ray Train starts its worker actors inside each timed training row, as a real job does. ``--quick`` shrinks
everything (K = 4, 20,000 rows x 10 features, 1 epoch) to check the script.

Usage: ``python bench/bench_ray.py [--quick] [--models 16] [--rows 1000000] [--features 50] [--epochs 2]
[--cpus-per-node 2] [--skip-audit] [--skip-training]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.privacy import audit_arrays  # noqa: E402
from core.training import TrainConfig, fit  # noqa: E402
from core.training.loop import predict_proba  # noqa: E402


def _table(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal(d) / np.sqrt(d)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w * 3)))).astype(np.int64)
    return X, y


def _start_cluster(cpus: int):
    import ray
    from ray.cluster_utils import Cluster

    from core.jobs._ray import runtime_env

    node = {"num_cpus": cpus, "object_store_memory": 512 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args=node | {"include_dashboard": False})
    cluster.add_node(**node)
    ray.init(address=cluster.address, runtime_env=runtime_env(), log_to_driver=False)
    return cluster


def _audit_rows(models: int, rows: int, features: int, warm_tasks: int) -> list[tuple[str, float, str]]:
    X, y = _table(rows, features, seed=1)
    m = rows // 4
    config = TrainConfig(model="mlp", hidden=(64, 32), epochs=4, batch_size=256)
    target = fit(X[:m], y[:m], X[m:m + 200], y[m:m + 200], n_classes=2, config=config,
                 device=torch.device("cpu")).model
    arrays = {"X_members": X[:m], "y_members": y[:m], "X_nonmembers": X[m:2 * m], "y_nonmembers": y[m:2 * m],
              "X_population": X[2 * m:], "y_population": y[2 * m:]}
    out, results = [], {}
    os.environ["RISKBOARD_EXECUTOR"] = "ray"  # warm-up, not timed: Ray starts a worker process per CPU and each
    audit_arrays(run_id="warm-up", model=target, n_classes=2, attack="reference",  # imports torch once
                 reference_models=warm_tasks, config=TrainConfig(model="logistic", epochs=1), train_size=m, **arrays)
    for executor in ("local", "ray"):
        os.environ["RISKBOARD_EXECUTOR"] = executor
        started = time.perf_counter()
        result = audit_arrays(run_id="bench", model=target, n_classes=2, attack="reference",
                              reference_models=models, config=config, train_size=m, **arrays)
        results[executor] = result.main.auc
        out.append((f"audit, K={models} reference models, {executor}", time.perf_counter() - started,
                    f"attack AUC {result.main.auc:.4f}"))
    equal = "equal" if results["local"] == results["ray"] else "DIFFERENT"
    out.append(("audit numbers, Ray vs sequential", float("nan"), equal))
    return out


def _training_rows(rows: int, features: int, epochs: int) -> list[tuple[str, float, str]]:
    from core.training.distributed import fit_data_parallel

    X, y = _table(rows, features, seed=2)
    Xv, yv = _table(max(1000, rows // 20), features, seed=3)
    config = TrainConfig(model="mlp", hidden=(64, 32), epochs=epochs, batch_size=1024, early_stopping_patience=0)
    out = []
    started = time.perf_counter()
    local = fit(X, y, Xv, yv, n_classes=2, config=config, device=torch.device("cpu"))
    out.append((f"train {rows:,} x {features}, one process", time.perf_counter() - started, _loss(local, Xv, yv)))
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            result = fit_data_parallel(X, y, Xv, yv, n_classes=2, config=config, positive_index=1, workers=workers,
                                       emit=lambda event: None, should_stop=None, device="cpu",
                                       scratch=Path(scratch))
            out.append((f"train {rows:,} x {features}, Ray Train {workers} worker(s)",
                        time.perf_counter() - started, _loss(result, Xv, yv)))
    return out


def _loss(result, Xv: np.ndarray, yv: np.ndarray) -> str:
    p = predict_proba(result.model, Xv, n_classes=2)[np.arange(len(yv)), yv]
    return f"validation log-loss {-np.mean(np.log(np.clip(p, 1e-12, 1))):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--audit-rows", type=int, default=20_000)
    parser.add_argument("--cpus-per-node", type=int, default=2)
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.models, args.rows, args.features, args.epochs, args.audit_rows = 4, 20_000, 10, 1, 4_000
    torch.set_num_threads(1)
    cluster = _start_cluster(args.cpus_per_node)
    rows: list[tuple[str, float, str]] = []
    try:
        if not args.skip_audit:
            rows += _audit_rows(args.models, args.audit_rows, args.features, warm_tasks=2 * args.cpus_per_node)
        if not args.skip_training:
            rows += _training_rows(args.rows, args.features, args.epochs)
    finally:
        import ray

        ray.shutdown()
        cluster.shutdown()
    print(f"\n| task (two local Ray nodes x {args.cpus_per_node} CPUs) | seconds | result |\n| --- | --- | --- |")
    for name, seconds, note in rows:
        print(f"| {name} | {'' if seconds != seconds else f'{seconds:.1f}'} | {note} |")


if __name__ == "__main__":
    main()
