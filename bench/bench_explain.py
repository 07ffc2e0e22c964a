"""Benchmark: SHAP values for 10,000 rows, ours (batched DeepLIFT rescale) vs shap's DeepExplainer vs KernelExplainer.

Same model, same rows, same 200-row background (training rows, seed 0), measured in the same run:

* **ours**: ``core.explain.attribute`` (one background draw; the Explain page runs three for the rank intervals,
  reported on its own line), at ``--threads`` torch threads (the peers run at the same count) and at the other of
  1 / 2 threads;
* **shap.DeepExplainer** on a copy of the model (the reference implementation of the same rule), all rows;
* **shap.KernelExplainer** on the model's logit, on ``--kernel-rows`` rows only and scaled linearly to 10,000
  (it is minutes per thousand rows); the table marks the figure as extrapolated.

Tables: the Adult demo data (MLP 64-32 trained 4 epochs here) and a synthetic 1,000,000-row x 50-column table
(``bench_training.make_synthetic``; MLP 64-32 trained 1 epoch). Each "ours" time is the best of ``--repeats``,
since other processes on a shared machine only ever slow a run down; the peers run once (they take minutes).
Agreement: the largest |ours - DeepExplainer| over every row and encoded column; additivity: the largest
|sum(phi) + base - f(x)| over the rows.

Usage: ``python bench/bench_explain.py [--rows 10000] [--background 200] [--threads 2] [--repeats 3]
[--kernel-rows 20] [--synthetic-rows 1000000] [--skip-synthetic] [--skip-kernel]``
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_training import load_adult, make_synthetic  # noqa: E402

from core.explain import attribute, background_rows, explain_rows  # noqa: E402
from core.models import TabularPreprocessor, stratified_split  # noqa: E402
from core.training import TrainConfig, fit  # noqa: E402


def prepare(frame: pd.DataFrame, y: np.ndarray, numeric: list[str], categorical: list[str], epochs: int,
            rows: int, background: int):
    split = stratified_split(y, seed=0)
    pre = TabularPreprocessor(numeric=numeric, categorical=categorical).fit(frame.iloc[split.train])
    held_out = np.concatenate([split.test, split.val])
    explained = held_out if len(held_out) >= rows else np.concatenate([held_out, split.train])
    explained = np.sort(explained[:rows])
    fit_rows = split.train if len(split.train) <= 400_000 else split.train[:400_000]
    x_train = pre.transform(frame.iloc[fit_rows])
    x_val = pre.transform(frame.iloc[split.val[:20_000]])
    torch.manual_seed(0)
    config = TrainConfig(hidden=(64, 32), epochs=epochs, batch_size=1024 if epochs > 1 else 4096,
                         early_stopping_patience=0)
    model = fit(x_train, y[fit_rows], x_val, y[split.val[:20_000]], n_classes=2, config=config,
                device=torch.device("cpu")).model.eval()
    bg_rows = split.train[background_rows(len(split.train), background, 0)]
    return (model, pre, pre.transform(frame.iloc[explained]), pre.transform(frame.iloc[bg_rows]),
            frame.iloc[explained], frame.iloc[split.train])


def best(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return min(times), out


def bench(name: str, model, pre, x, bg, rows_frame, pool, args) -> list[dict]:
    print(f"\n## {name}: {len(x):,} rows x {x.shape[1]} encoded columns, background {len(bg)}", flush=True)
    out = []
    torch.set_num_threads(args.threads)
    ours_s, ours = best(lambda: attribute(model, x, bg), args.repeats)
    out.append({"method": f"ours, DeepLIFT rescale batched ({args.threads} threads)", "seconds": ours_s,
                "additivity": ours.additivity_max_error, "vs_deep": None, "note": f"best of {args.repeats}"})
    alt = 2 if args.threads == 1 else 1
    torch.set_num_threads(alt)
    one_s, _ = best(lambda: attribute(model, x, bg), args.repeats)
    out.append({"method": f"ours, {alt} thread{'s' if alt > 1 else ''}", "seconds": one_s,
                "additivity": ours.additivity_max_error, "vs_deep": None, "note": f"best of {args.repeats}"})
    torch.set_num_threads(args.threads)
    full_s, _ = best(lambda: explain_rows(model, pre, rows_frame, pool, background=len(bg), seed=0, draws=3), 1)
    out.append({"method": "ours, full explain_rows: 3 draws + grouping", "seconds": full_s,
                "additivity": ours.additivity_max_error, "vs_deep": None, "note": "rank intervals included"})
    print(f"ours {ours_s:.2f} s ({args.threads} threads), {one_s:.2f} s ({alt}), full {full_s:.2f} s", flush=True)

    import shap

    started = time.perf_counter()
    deep = shap.DeepExplainer(copy.deepcopy(model), torch.tensor(bg, dtype=torch.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(deep.shap_values(torch.tensor(x, dtype=torch.float32), check_additivity=False))
    deep_s = time.perf_counter() - started
    theirs = theirs.reshape(ours.values.shape)
    with torch.no_grad():
        f_x = model(torch.tensor(x, dtype=torch.float32))[:, 0].double().numpy()
    deep_add = float(np.abs(theirs.sum(axis=1) + float(np.asarray(deep.expected_value).ravel()[0]) - f_x).max())
    agreement = float(np.abs(theirs - ours.values).max())
    out.append({"method": "shap.DeepExplainer", "seconds": deep_s, "additivity": deep_add, "vs_deep": 0.0,
                "note": "all rows, once"})
    out[0]["vs_deep"] = agreement
    print(f"DeepExplainer {deep_s:.1f} s; max |ours - deep| = {agreement:.1e}", flush=True)

    if not args.skip_kernel:
        def logit(data: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return model(torch.tensor(data, dtype=torch.float32))[:, 0].double().numpy()

        kernel = shap.KernelExplainer(logit, bg)
        k = min(args.kernel_rows, len(x))
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.asarray(kernel.shap_values(x[:k], silent=True))
        kernel_s = (time.perf_counter() - started) * len(x) / k
        kernel_add = float(np.abs(values.sum(axis=1) + float(kernel.expected_value) - f_x[:k]).max())
        out.append({"method": "shap.KernelExplainer", "seconds": kernel_s, "additivity": kernel_add,
                    "vs_deep": float(np.abs(values - theirs[:k]).max()),
                    "note": f"measured on {k} rows, scaled x{len(x) / k:.0f} (extrapolated)"})
        print(f"KernelExplainer {kernel_s:.0f} s extrapolated from {k} rows", flush=True)
    return out


def table(name: str, results: list[dict]) -> None:
    deep = next(r["seconds"] for r in results if r["method"] == "shap.DeepExplainer")
    print(f"\n### {name}\n")
    print("| method | seconds for all rows | vs DeepExplainer | additivity max error | max abs diff to Deep | note |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        speed = deep / r["seconds"]
        ratio = f"{speed:.0f}x faster" if speed >= 1.5 else (f"{1 / speed:.1f}x slower" if speed < 0.67 else "1x")
        diff = "-" if r["vs_deep"] is None else f"{r['vs_deep']:.1e}"
        print(f"| {r['method']} | {r['seconds']:.2f} | {ratio} | {r['additivity']:.1e} | {diff} | {r['note']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--background", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kernel-rows", type=int, default=20)
    parser.add_argument("--synthetic-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--skip-kernel", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} default threads; rows {args.rows:,}, background "
          f"{args.background}")
    frame, y, numeric, categorical = load_adult()
    adult = prepare(frame, y, numeric, categorical, 4, args.rows, args.background)
    results = {"Adult": bench("Adult", *adult, args)}
    if not args.skip_synthetic:
        frame, y, numeric, categorical = make_synthetic(args.synthetic_rows)
        synthetic = prepare(frame, y, numeric, categorical, 1, args.rows, args.background)
        del frame
        results[f"synthetic {args.synthetic_rows:,} x 50"] = bench(f"synthetic {args.synthetic_rows:,} x 50",
                                                                    *synthetic, args)
    for name, rows in results.items():
        table(f"{name}, {args.rows:,} rows, background {args.background}", rows)


if __name__ == "__main__":
    main()
