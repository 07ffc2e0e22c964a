"""Benchmark: the Ray executor against the embedded one, on a two-node local Ray (``ray.cluster_utils.Cluster``).

Rows (one Markdown table in the columns of ``bench/run.py``'s: ours = on Ray, peer = without it):

* a membership audit with K reference models (offline LiRA; default K = 16) trained one after another in this
  process, against one Ray task per reference model spread over the two nodes; the audit's numbers (everything
  but its seconds) must be equal for the same seed (checked, and printed in the note);
* data-parallel training (``RISKBOARD_RAY_WORKERS``) on a synthetic table (default 1,000,000 rows x 50 features,
  MLP 64-32, 2 epochs): Ray Train with two workers against one worker, and one worker against this process alone,
  with the validation log-loss of each (equal models give equal losses).

Every row also gives CPU seconds (user + system) of this process and every process under it (the two Ray nodes
and their workers), sampled from ``/proc`` every 0.25 s (a process that ends between samples loses at most its last
0.25 s), and the peak of their summed proportional set size (PSS: shared pages split among the processes sharing
them, so Ray's shared object store and libraries count once): on a shared machine wall seconds depend on the
neighbours.
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
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.privacy import audit_arrays  # noqa: E402
from core.training import TrainConfig, fit  # noqa: E402
from core.training.loop import predict_proba  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _processes() -> dict[tuple[int, int], tuple[int, float, int]]:
    """Every process on the machine: (pid, start time) -> (parent pid, CPU seconds, resident bytes)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[(int(entry), int(fields[19]))] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK,
                                             int(fields[21]) * PAGE)
    return out


def _pss(pid: int) -> int:
    """Proportional set size: resident bytes with shared pages split among the processes sharing them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree(procs: dict[tuple[int, int], tuple[int, float, int]]) -> dict[tuple[int, int], tuple[float, int]]:
    """This process and its descendants: key -> (CPU seconds, proportional set size in bytes)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for key, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(key)
    mine = [key for key in procs if key[0] == os.getpid()]
    found = {}
    while mine:
        key = mine.pop()
        found[key] = (procs[key][1], _pss(key[0]))
        mine += children.get(key[0], [])
    return found


class Meter:
    """Wall seconds, CPU seconds (user + system) and peak summed PSS memory of this process tree."""

    def __enter__(self) -> Meter:
        self.start = {k: cpu for k, (cpu, _) in _tree(_processes()).items()}
        self.last: dict[tuple[int, int], float] = dict(self.start)
        self.peak, self._done = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.began = time.perf_counter()
        return self

    def _sample(self) -> None:
        while True:
            tree = _tree(_processes())
            self.last.update({k: cpu for k, (cpu, _) in tree.items()})
            self.peak = max(self.peak, sum(rss for _, rss in tree.values()))
            if self._done.wait(0.25):
                return

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.began
        self._done.set()
        self._thread.join()
        self.cpu = sum(cpu - self.start.get(k, 0.0) for k, cpu in self.last.items())


@dataclass
class Result:
    task: str
    ours: Meter
    peer_name: str
    peer: Meter
    note: str

    def cells(self) -> list[str]:
        ratio = self.peer.wall / self.ours.wall
        figures = (f"CPU s ours {self.ours.cpu:.1f}, peer {self.peer.cpu:.1f}; peak memory ours "
                   f"{self.ours.peak / 2**30:.2f} GB, peer {self.peer.peak / 2**30:.2f} GB")
        return [self.task, f"{self.ours.wall:.1f} s", self.peer_name, f"{self.peer.wall:.1f} s", f"{ratio:.2f}x",
                "cpu", f"{self.note}; {figures}"]


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


def _audit(models: int, rows: int, features: int, warm_tasks: int) -> Result:
    X, y = _table(rows, features, seed=1)
    m = rows // 4
    config = TrainConfig(model="mlp", hidden=(64, 32), epochs=4, batch_size=256)
    target = fit(X[:m], y[:m], X[m:m + 200], y[m:m + 200], n_classes=2, config=config,
                 device=torch.device("cpu")).model
    arrays = {"X_members": X[:m], "y_members": y[:m], "X_nonmembers": X[m:2 * m], "y_nonmembers": y[m:2 * m],
              "X_population": X[2 * m:], "y_population": y[2 * m:]}
    os.environ["RISKBOARD_EXECUTOR"] = "ray"  # warm-up, not timed: Ray starts a worker process per CPU and each
    audit_arrays(run_id="warm-up", model=target, n_classes=2, attack="reference",  # imports torch once
                 reference_models=warm_tasks, config=TrainConfig(model="logistic", epochs=1), train_size=m, **arrays)
    meters, results = {}, {}
    for executor in ("local", "ray"):
        os.environ["RISKBOARD_EXECUTOR"] = executor
        with Meter() as meters[executor]:
            result = audit_arrays(run_id="bench", model=target, n_classes=2, attack="reference",
                                  reference_models=models, config=config, train_size=m, **arrays).to_dict()
        result.pop("seconds")
        results[executor] = result
    equal = "numbers equal" if results["local"] == results["ray"] else "NUMBERS DIFFER"
    auc = results["ray"]["reports"]["reference"]["auc"]
    return Result(f"Membership audit, K={models} reference models, {rows:,} x {features} rows, one Ray task per "
                  "model on two local nodes", meters["ray"], "sequential, one process", meters["local"],
                  f"same seed, {equal} (attack AUC {auc:.4f})")


def _training(rows: int, features: int, epochs: int) -> list[Result]:
    from core.training.distributed import fit_data_parallel

    n_val = max(1000, rows // 20)
    X, y = _table(rows + n_val, features, seed=2)  # one labelling rule for training and validation rows
    X, y, Xv, yv = X[:rows], y[:rows], X[rows:], y[rows:]
    config = TrainConfig(model="mlp", hidden=(64, 32), epochs=epochs, batch_size=1024, early_stopping_patience=0)
    meters, losses = {}, {}
    with Meter() as meters[0]:
        losses[0] = _loss(fit(X, y, Xv, yv, n_classes=2, config=config, device=torch.device("cpu")), Xv, yv)
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as scratch, Meter() as meters[workers]:
            result = fit_data_parallel(X, y, Xv, yv, n_classes=2, config=config, positive_index=1, workers=workers,
                                       emit=lambda event: None, should_stop=None, device="cpu",
                                       scratch=Path(scratch), home=Path(scratch), key_id="run-bench")
        losses[workers] = _loss(result, Xv, yv)
    task = f"Data-parallel training, {rows:,} x {features}, MLP 64-32, {epochs} epoch(s), Ray Train"
    return [Result(f"{task}, 2 workers", meters[2], "Ray Train, 1 worker", meters[1],
                   f"validation log-loss 2 workers {losses[2]:.4f}, 1 worker {losses[1]:.4f}"),
            Result(f"{task}, 1 worker", meters[1], "one process, no Ray", meters[0],
                   f"validation log-loss one process {losses[0]:.4f}")]


def _loss(result, Xv: np.ndarray, yv: np.ndarray) -> float:
    p = predict_proba(result.model, Xv, n_classes=2)[np.arange(len(yv)), yv]
    return float(-np.mean(np.log(np.clip(p, 1e-12, 1))))


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
    results: list[Result] = []
    try:
        if not args.skip_audit:
            results.append(_audit(args.models, args.audit_rows, args.features, warm_tasks=2 * args.cpus_per_node))
        if not args.skip_training:
            results += _training(args.rows, args.features, args.epochs)
    finally:
        import ray

        ray.shutdown()
        cluster.shutdown()
    print(f"\nTwo local Ray nodes x {args.cpus_per_node} CPUs on {os.cpu_count()} cores; torch 1 thread per process.")
    print("\n| task | ours | peer | peer's figure | ratio (peer / ours) | device | note |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for result in results:
        print("| " + " | ".join(result.cells()) + " |")


if __name__ == "__main__":
    main()
