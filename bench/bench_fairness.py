"""Benchmark: sliced fairness metrics with 1,000-resample intervals, ours vs fairlearn's MetricFrame, same run.

Table: ``--rows`` (default 1,000,000) synthetic rows in 4 groups of unequal size, a score and a 0/1 decision.

* **ours** — ``core.fairness.audit_groups``: point estimates from ``MetricFrame`` on the weighted confusion cells,
  95% intervals from ``--resamples`` (default 1,000) multinomial resamples of each group's confusion counts,
  DeLong AUC per group, pairwise comparisons. Measured in full.
* **MetricFrame n_boot** — fairlearn's own bootstrap (``MetricFrame(..., n_boot=K)``), the same four count metrics
  (selection rate, accuracy, TPR, FPR) as numpy functions (faster than scikit-learn's). Measured at ``n_boot=0``
  and ``n_boot=--peer-resamples`` (default 2) and scaled linearly to ``--resamples``.
* **MetricFrame loop** — the usual hand-written bootstrap: resample rows within each group, build a ``MetricFrame``
  per resample. Measured on ``--peer-resamples`` resamples and scaled.

Every timing is the best of ``--repeats`` (default 1 for peers, 3 for ours): other processes on a shared machine
only slow a run down. Usage: ``python bench/bench_fairness.py [--rows N] [--resamples N] [--peer-resamples K]``
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from fairlearn.metrics import MetricFrame

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.fairness import audit_groups  # noqa: E402


def table(rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = np.array(["A", "B", "C", "D"])[rng.choice(4, rows, p=[0.5, 0.3, 0.15, 0.05])]
    y = (rng.random(rows) < np.where(groups == "A", 0.35, 0.25)).astype(np.int64)
    score = np.clip(0.3 * y + 0.7 * rng.random(rows), 0, 1)
    return y, (score >= 0.5).astype(np.int64), score, groups


def _sr(y, p):
    return float(np.mean(p))


def _acc(y, p):
    return float(np.mean(y == p))


def _tpr(y, p):
    return float(np.mean(p[y == 1]))


def _fpr(y, p):
    return float(np.mean(p[y == 0]))


METRICS = {"selection_rate": _sr, "accuracy": _acc, "tpr": _tpr, "fpr": _fpr}


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--peer-resamples", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    y, pred, score, groups = table(args.rows)
    k, b = args.peer_resamples, args.resamples
    print(f"{args.rows:,} rows, 4 groups, {b:,} resamples; peers measured on {k} resamples and scaled\n")

    ours = best_of(args.repeats, lambda: audit_groups(y, pred, groups, score=score, resamples=b))
    ours_no_auc = best_of(args.repeats, lambda: audit_groups(y, pred, groups, resamples=b))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = best_of(1, lambda: MetricFrame(metrics=METRICS, y_true=y, y_pred=pred, sensitive_features=groups))
        boot = best_of(1, lambda: MetricFrame(metrics=METRICS, y_true=y, y_pred=pred, sensitive_features=groups,
                                              n_boot=k, ci_quantiles=[0.025, 0.975], random_state=0))
        per_boot = max(boot - plain, 0.0) / k
        rng = np.random.default_rng(0)
        members = [np.flatnonzero(groups == g) for g in np.unique(groups)]

        def loop() -> None:
            for _ in range(k):
                rows = np.concatenate([rng.choice(m, len(m)) for m in members])
                MetricFrame(metrics=METRICS, y_true=y[rows], y_pred=pred[rows], sensitive_features=groups[rows])

        per_loop = best_of(1, loop) / k

    rows = [
        ("ours: audit_groups, with DeLong AUC", "measured", ours),
        ("ours: audit_groups, no scores", "measured", ours_no_auc),
        ("MetricFrame, one evaluation (no intervals)", "measured", plain),
        (f"MetricFrame n_boot={b:,}", f"scaled from n_boot={k}", plain + per_boot * b),
        (f"MetricFrame loop, {b:,} resamples", f"scaled from {k}", plain + per_loop * b),
    ]
    print("| method | how | seconds | vs ours |")
    print("| --- | --- | --- | --- |")
    for name, how, seconds in rows:
        print(f"| {name} | {how} | {seconds:,.2f} | {seconds / ours:,.1f}x |")


if __name__ == "__main__":
    main()
