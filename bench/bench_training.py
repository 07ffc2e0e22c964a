"""Benchmark: Riskboard's torch training loop vs scikit-learn's MLPClassifier, same layers (64, 32), same run.

Measures, on the Adult demo data and on a synthetic table (1,000,000 rows x 50 columns by default: 30 numeric with
some missing values, 20 categorical with 3-8 levels):

* seconds per epoch at equal batch size (256) and at each side's other batch sizes;
* the target AUC = the test ROC AUC scikit-learn reaches after 10 epochs at batch 256 (its usual setting), and for
  each side and batch size the training time until the test AUC first reaches that target (epoch-granular).

Our timings are ``fit()``'s own cumulative clock, which includes its per-epoch validation pass (here on the test
rows, so the per-epoch "val AUC" is the test AUC); scikit-learn's exclude its evaluation. Both sides get the same
learning rate at each batch size (the one our defaults table uses). ``torch.set_num_threads`` is set to the core
count (``--threads`` to change), and numpy's BLAS gets the same count through threadpoolctl.

Every row is the best of ``--repeats`` identical runs (default 3), because other processes on a shared machine
only ever slow a run down. 256 must be among ``--batches`` (it is the equal-batch comparison).

Usage: ``python bench/bench_training.py [--rows 1000000] [--epochs 10] [--repeats 3] [--threads N]
[--batches 256,1024,4096] [--skip-synthetic] [--skip-adult]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.errors import RunCancelledError  # noqa: E402
from core.models import TabularPreprocessor, stratified_split  # noqa: E402
from core.training import TrainConfig, fit  # noqa: E402

ADULT_NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
# learning rate per batch size, tuned for our loop on Adult (bench grid); scikit-learn runs once with the same
# table ("sklearn, same lr") and once with its default learning_rate_init=1e-3 ("sklearn, default lr")
LEARNING_RATES = {256: 1e-3, 512: 2e-3, 1024: 5e-3, 2048: 1e-2, 4096: 2e-2}
SKLEARN_DEFAULT_LR = 1e-3


def load_adult() -> tuple[pd.DataFrame, np.ndarray, list[str], list[str]]:
    frame = pd.read_csv(ROOT / "data" / "adult.csv.gz")
    y = (frame.pop("income") == ">50K").to_numpy().astype(np.int64)
    categorical = [c for c in frame.columns if c not in ADULT_NUMERIC]
    return frame, y, ADULT_NUMERIC, categorical


def make_synthetic(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, list[str], list[str]]:
    """30 numeric + 20 categorical columns; the label depends on a few of each, with interactions and noise."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    logit = np.zeros(rows)
    weights = rng.normal(0, 1, 30) * (rng.random(30) < 0.4)
    for i in range(30):
        x = rng.normal(0, 1, rows) * (1 + i % 3) + i
        logit += weights[i] * (x - i) / (1 + i % 3)
        if i % 6 == 0:
            x[rng.random(rows) < 0.03] = np.nan
        columns[f"num_{i}"] = x
    first, second = (columns["num_1"] - 1) / 2, (columns["num_2"] - 2) / 3
    logit += 0.8 * np.nan_to_num(first) * np.nan_to_num(second) - 0.5 * np.nan_to_num(first) ** 2
    for j in range(20):
        k = (3, 4, 5, 6, 8)[j % 5]
        codes = rng.integers(0, k, rows)
        effects = rng.normal(0, 0.7, k) * (j % 3 == 0)
        logit += effects[codes]
        values = np.array([f"c{j}_level{v}" for v in range(k)], dtype=object)[codes]
        values[rng.random(rows) < 0.01] = None
        columns[f"cat_{j}"] = pd.array(values, dtype="str")
    logit += rng.logistic(0, 1, rows) * 0.5
    y = (logit > np.quantile(logit, 0.7)).astype(np.int64)
    return pd.DataFrame(columns), y, [f"num_{i}" for i in range(30)], [f"cat_{j}" for j in range(20)]


def encode(frame: pd.DataFrame, y: np.ndarray, numeric: list[str], categorical: list[str]):
    split = stratified_split(y, seed=0)
    started = time.perf_counter()
    pre = TabularPreprocessor(numeric=numeric, categorical=categorical).fit(frame.iloc[split.train])
    fitted = time.perf_counter()
    X = pre.transform(frame)
    done = time.perf_counter()
    return X[split.train], y[split.train], X[split.test], y[split.test], (fitted - started, done - fitted)


def run_sklearn(Xtr, ytr, Xte, yte, batch: int, epochs: int, target: float | None, lr: float) -> dict:
    clf = MLPClassifier(hidden_layer_sizes=(64, 32), batch_size=batch, learning_rate_init=lr, alpha=1e-4,
                        random_state=0)
    total, times, aucs = 0.0, [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            started = time.perf_counter()
            clf.partial_fit(Xtr, ytr, classes=np.array([0, 1]))
            elapsed = time.perf_counter() - started
            total += elapsed
            times.append(elapsed)
            aucs.append(roc_auc_score(yte, clf.predict_proba(Xte)[:, 1]))
            if target is not None and aucs[-1] >= target:
                break
    return {"times": times, "aucs": aucs, "cumulative": list(np.cumsum(times)), "lr": lr}


def run_ours(Xtr, ytr, Xte, yte, batch: int, epochs: int, target: float | None) -> dict:
    config = TrainConfig(batch_size=batch, learning_rate=LEARNING_RATES[batch], epochs=epochs,
                         early_stopping_patience=0, weight_decay=1e-4)
    records = []
    reached = {"done": False}

    def on_epoch(record) -> None:
        records.append(record)
        reached["done"] = target is not None and record.val_auc >= target

    with contextlib.suppress(RunCancelledError):  # should_stop ends the run once the target is reached
        fit(Xtr, ytr, Xte, yte, n_classes=2, config=config, device=torch.device("cpu"), on_epoch=on_epoch,
            should_stop=lambda: reached["done"])
    cumulative = [r.seconds for r in records]
    times = list(np.diff([0.0, *cumulative]))
    return {"times": times, "aucs": [r.val_auc for r in records], "cumulative": cumulative,
            "lr": LEARNING_RATES[batch]}


def time_to(result: dict, target: float) -> tuple[float | None, int | None]:
    for i, auc in enumerate(result["aucs"]):
        if auc >= target:
            return result["cumulative"][i], i + 1
    return None, None


def steady_epoch(result: dict) -> float:
    """Median epoch time, skipping the first (warm-up) epoch when there are several."""
    times = result["times"][1:] if len(result["times"]) > 2 else result["times"]
    return float(np.median(times))


def warm_up(Xtr, ytr, Xte, yte) -> None:
    """One-time library start-up costs (thread pools, kernels) must not count against either side."""
    rows = min(len(Xtr), 2048)
    run_ours(Xtr[:rows], ytr[:rows], Xte[:rows], yte[:rows], 256, 1, None)
    run_sklearn(Xtr[:rows], ytr[:rows], Xte[:rows], yte[:rows], 256, 1, None, SKLEARN_DEFAULT_LR)


def measured(run, repeats: int, target: float) -> dict:
    """Best of ``repeats`` identical runs (seeds are fixed, so only the clock differs): other processes on a shared
    machine can only slow a run down, so the minimum is the least noisy estimate for both sides alike."""
    summaries = [_summary(run(), target) for _ in range(repeats)]
    best = dict(summaries[0])
    best["epoch_s"] = min(s["epoch_s"] for s in summaries)
    reached = [s["to_target"] for s in summaries if s["to_target"] is not None]
    best["to_target"] = min(reached) if reached else None
    return best


def bench(name: str, data, epochs: int, batches: list[int], repeats: int) -> list[dict]:
    Xtr, ytr, Xte, yte, (fit_s, transform_s) = data
    print(f"\n## {name}: {len(Xtr):,} train rows x {Xtr.shape[1]} encoded columns (preprocessing: fit on the "
          f"training rows {fit_s:.2f} s, transform of all rows {transform_s:.2f} s)", flush=True)
    warm_up(Xtr, ytr, Xte, yte)
    target = run_sklearn(Xtr, ytr, Xte, yte, 256, epochs, None, SKLEARN_DEFAULT_LR)["aucs"][-1]
    print(f"target: scikit-learn MLPClassifier batch 256 test AUC after {epochs} epochs = {target:.4f} "
          f"(best of {repeats} run(s) per row)", flush=True)
    cap = 2 * epochs  # every run stops at the target or after this many epochs
    rows = []
    for batch in batches:
        run = partial(run_sklearn, Xtr, ytr, Xte, yte, batch, cap, target, SKLEARN_DEFAULT_LR)
        rows.append({"side": "sklearn, default lr", "batch": batch, **measured(run, repeats, target)})
    for batch in batches:
        if LEARNING_RATES[batch] != SKLEARN_DEFAULT_LR:
            run = partial(run_sklearn, Xtr, ytr, Xte, yte, batch, cap, target, LEARNING_RATES[batch])
            rows.append({"side": "sklearn, same lr", "batch": batch, **measured(run, repeats, target)})
    for batch in batches:
        run = partial(run_ours, Xtr, ytr, Xte, yte, batch, cap, target)
        rows.append({"side": "riskboard", "batch": batch, **measured(run, repeats, target)})
    print(f"| side | batch | lr | s/epoch | epochs to {target:.4f} | s to target | best test AUC seen |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        to = "not reached" if r["to_target"] is None else f"{r['to_target']:.2f}"
        ep = "-" if r["epochs_to_target"] is None else str(r["epochs_to_target"])
        print(f"| {r['side']} | {r['batch']} | {r['lr']:g} | {r['epoch_s']:.3f} | {ep} | {to} | "
              f"{r['best_auc']:.4f} |", flush=True)
    ours_256 = next((r for r in rows if r["side"] == "riskboard" and r["batch"] == 256), None)
    sk_256 = next(r for r in rows if r["side"] == "sklearn, default lr" and r["batch"] == 256)
    best_ours = min((r for r in rows if r["side"] == "riskboard" and r["to_target"] is not None),
                    key=lambda r: r["to_target"], default=None)
    best_sk = min((r for r in rows if r["side"].startswith("sklearn") and r["to_target"] is not None),
                  key=lambda r: r["to_target"], default=None)
    if ours_256 is not None:
        print(f"\nper epoch at batch 256: sklearn {sk_256['epoch_s']:.3f} s vs ours {ours_256['epoch_s']:.3f} s "
              f"(ratio {sk_256['epoch_s'] / ours_256['epoch_s']:.2f}x)")
    if best_ours is not None:
        print(f"per epoch at our best batch ({best_ours['batch']}): ours {best_ours['epoch_s']:.3f} s vs sklearn "
              f"batch 256 {sk_256['epoch_s']:.3f} s (ratio {sk_256['epoch_s'] / best_ours['epoch_s']:.2f}x)")
    if best_ours is not None and best_sk is not None:
        print(f"time to target AUC, each at its best batch: sklearn {best_sk['to_target']:.2f} s ({best_sk['side']}, "
              f"batch {best_sk['batch']}) vs ours {best_ours['to_target']:.2f} s (batch {best_ours['batch']}) -> "
              f"{best_sk['to_target'] / best_ours['to_target']:.2f}x faster", flush=True)
    best_sk_default = min((r for r in rows if r["side"] == "sklearn, default lr" and r["to_target"] is not None),
                          key=lambda r: r["to_target"], default=None)
    if best_ours is not None and best_sk_default is not None:
        print(f"time to target AUC, each at its best batch with its own default learning rate: sklearn "
              f"{best_sk_default['to_target']:.2f} s (batch {best_sk_default['batch']}) vs ours "
              f"{best_ours['to_target']:.2f} s -> {best_sk_default['to_target'] / best_ours['to_target']:.2f}x faster",
              flush=True)
    return rows


def _summary(result: dict, target: float) -> dict:
    to_target, epochs_to = time_to(result, target)
    return {"epoch_s": steady_epoch(result), "to_target": to_target, "epochs_to_target": epochs_to,
            "best_auc": float(np.nanmax(result["aucs"])), "lr": result["lr"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic table")
    parser.add_argument("--epochs", type=int, default=10, help="scikit-learn epochs that define the target AUC")
    parser.add_argument("--batches", default="256,512,1024,2048,4096", help="batch sizes to try, comma separated")
    parser.add_argument("--repeats", type=int, default=3, help="runs per row; the fastest counts")
    parser.add_argument("--threads", type=int, default=0, help="torch and BLAS threads (default: the core count)")
    parser.add_argument("--skip-adult", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    threads = args.threads or cores
    torch.set_num_threads(threads)
    threadpool_limits(threads)  # the same thread count for scikit-learn's BLAS
    batches = [int(b) for b in args.batches.split(",")]
    unknown = [b for b in batches if b not in LEARNING_RATES]
    if unknown:
        parser.error(f"no learning rate set for batch size(s) {unknown}; choose from {sorted(LEARNING_RATES)}")
    if 256 not in batches:
        parser.error("--batches must include 256, the equal-batch comparison")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cores} cores")
    if not args.skip_adult:
        bench("Adult", encode(*load_adult()), args.epochs, batches, args.repeats)
    if not args.skip_synthetic:
        started = time.perf_counter()
        frame, y, numeric, categorical = make_synthetic(args.rows)
        print(f"\n(synthetic table generated in {time.perf_counter() - started:.1f} s)")
        bench(f"synthetic {args.rows:,} x 50", encode(frame, y, numeric, categorical), args.epochs, batches,
              args.repeats)


if __name__ == "__main__":
    main()
