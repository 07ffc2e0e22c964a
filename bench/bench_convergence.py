"""Benchmark: do our models converge on small public tables? Logistic (L-BFGS) vs scikit-learn, MLP vs logistic.

Tables, all available offline: scikit-learn's bundled breast_cancer (569 x 30, binary), wine (178 x 13, 3 classes),
digits (1,797 x 64, 10 classes) and the Adult demo in ``data/`` (48,842 rows, binary). For each table and each of
``--seeds`` splits (our stratified 70/15/15 split, preprocessor fitted on the training rows) it fits, on the same
encoded rows:

* scikit-learn ``LogisticRegression()`` (lbfgs, C=1, ``max_iter=1000``, its default tolerance 1e-4), timed, and
  the same with ``tol=1e-10`` ("sklearn LR exact"): the precision our solver stops at, so the times compare like
  with like;
* our logistic model (full-batch L-BFGS-B, C=1, the default), timed (``fit()`` and scoring the test rows,
  including its per-round validation);
* our MLP (defaults: (64, 32), AdamW, the step budget of ``core.training.budget.plan_steps``, early stopping on the
  validation loss), timed.

It prints, per table, the test ROC AUC (binary: positive vs rest; multiclass: macro one-vs-rest) and accuracy as
mean over seeds, the wall seconds and the CPU seconds of this process (user + system: the fair clock on a shared
machine, where wall time mostly measures other jobs; BLAS is held to ``--threads``), and the split noise: the
standard deviation over seeds of the logistic model's test metric. "MLP - logistic" is the mean difference; the
MLP passes when it is above -2 x split noise.

Usage: ``python bench/bench_convergence.py [--seeds 3] [--threads 1] [--skip-adult]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.models import TabularPreprocessor, stratified_split  # noqa: E402
from core.training import TrainConfig, fit, predict_proba  # noqa: E402
from core.training.budget import plan_steps  # noqa: E402

ADULT_NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def bundled(loader) -> tuple[pd.DataFrame, np.ndarray, list[str], list[str]]:
    data = loader(as_frame=True)
    frame = data.frame.drop(columns=["target"])
    return frame, data.target.to_numpy().astype(np.int64), list(frame.columns), []


def adult() -> tuple[pd.DataFrame, np.ndarray, list[str], list[str]]:
    frame = pd.read_csv(ROOT / "data" / "adult.csv.gz")
    y = (frame.pop("income") == ">50K").to_numpy().astype(np.int64)
    return frame, y, ADULT_NUMERIC, [c for c in frame.columns if c not in ADULT_NUMERIC]


def scores(y: np.ndarray, proba: np.ndarray) -> tuple[float, float]:
    if proba.shape[1] == 2:
        auc = roc_auc_score(y, proba[:, 1])
    else:
        auc = roc_auc_score(y, proba, multi_class="ovr", average="macro")
    return float(auc), float(accuracy_score(y, proba.argmax(axis=1)))


def one_split(frame, y, numeric, categorical, seed: int) -> dict[str, tuple[float, float, float]]:
    split = stratified_split(y, val_fraction=0.15, test_fraction=0.15, seed=seed)
    pre = TabularPreprocessor(numeric=numeric, categorical=categorical).fit(frame.iloc[split.train])
    X_train, X_val, X_test = (pre.transform(frame.iloc[part]) for part in (split.train, split.val, split.test))
    y_train, y_val, y_test = y[split.train], y[split.val], y[split.test]
    k = int(y.max()) + 1
    out = {}
    started, cpu = time.perf_counter(), time.process_time()
    reference = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    out["sklearn LR"] = (*scores(y_test, reference.predict_proba(X_test)), time.perf_counter() - started,
                         time.process_time() - cpu)
    started, cpu = time.perf_counter(), time.process_time()
    exact = LogisticRegression(max_iter=100_000, tol=1e-10).fit(X_train, y_train)
    out["sklearn LR exact"] = (*scores(y_test, exact.predict_proba(X_test)), time.perf_counter() - started,
                               time.process_time() - cpu)
    for name, config in (("ours logistic", TrainConfig(model="logistic", seed=seed)),
                         ("ours MLP", TrainConfig(model="mlp", seed=seed))):
        config = plan_steps(config, len(X_train))
        cpu = time.process_time()
        result = fit(X_train, y_train, X_val, y_val, n_classes=k, config=config, device=torch.device("cpu"))
        proba = predict_proba(result.model, X_test, n_classes=k)
        out[name] = (*scores(y_test, proba), result.seconds, time.process_time() - cpu)
        if name == "ours MLP":
            out["mlp steps"] = (float(len(result.history) * -(-len(X_train) // config.batch_size)),
                                float(result.best_epoch), float(config.epochs))
    return out


def warm_up() -> None:
    """Pay the one-off costs of a fresh process (torch's first optimizer imports torch._dynamo, about 1.5 s) before
    any timing, as a worker that has trained once already has."""
    X, y = load_breast_cancer(return_X_y=True)
    for model in ("logistic", "mlp"):
        fit(X[:64], y[:64], X[:16], y[:16], n_classes=2, config=TrainConfig(model=model, epochs=1),
            device=torch.device("cpu"))
    LogisticRegression(max_iter=10).fit(X[:64], y[:64])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-adult", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tables = {"breast_cancer": bundled(load_breast_cancer), "wine": bundled(load_wine),
              "digits": bundled(load_digits)}
    if not args.skip_adult:
        tables["adult"] = adult()
    print("| table | rows x cols, classes | model | test AUC | test accuracy | seconds | CPU seconds | "
          "MLP steps (best epoch) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = []
    with threadpool_limits(args.threads):
        warm_up()
        for table, (frame, y, numeric, categorical) in tables.items():
            runs = [one_split(frame, y, numeric, categorical, seed) for seed in range(args.seeds)]
            shape = f"{len(frame):,} x {frame.shape[1]}, {int(y.max()) + 1}"
            for model in ("sklearn LR", "sklearn LR exact", "ours logistic", "ours MLP"):
                values = np.array([run[model] for run in runs])
                steps = ""
                if model == "ours MLP":
                    s = np.array([run["mlp steps"] for run in runs])
                    steps = f"{s[:, 0].mean():,.0f} ({s[:, 1].mean():.0f} of {s[:, 2].mean():.0f} epochs)"
                print(f"| {table} | {shape} | {model} | {values[:, 0].mean():.4f} | {values[:, 1].mean():.4f} | "
                      f"{values[:, 2].mean():.3f} | {values[:, 3].mean():.3f} | {steps} |")
            logistic = np.array([run["ours logistic"] for run in runs])
            mlp = np.array([run["ours MLP"] for run in runs])
            sk = np.array([run["sklearn LR"] for run in runs])
            noise = logistic[:, :2].std(axis=0, ddof=1) if args.seeds > 1 else np.zeros(2)
            summary.append((table, np.abs(logistic[:, 0] - sk[:, 0]).max(), (mlp - logistic)[:, :2].mean(axis=0),
                            noise))
    print("\n| table | max abs AUC ours logistic - sklearn LR | MLP - logistic AUC | MLP - logistic accuracy | "
          "split noise (sd AUC, accuracy) | MLP within noise |")
    print("| --- | --- | --- | --- | --- | --- |")
    for table, gap, diff, noise in summary:
        ok = bool((diff >= -2 * noise).all())
        print(f"| {table} | {gap:.4f} | {diff[0]:+.4f} | {diff[1]:+.4f} | {noise[0]:.4f}, {noise[1]:.4f} | "
              f"{'yes' if ok else 'NO'} |")


if __name__ == "__main__":
    main()
