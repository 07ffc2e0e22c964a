"""The one benchmark table: each row a task, our figure, a peer's figure measured in the same run, and the ratio.

Rows (each measured here, now, on this machine; nothing is copied from an earlier run):

* MLP (64, 32) epoch and time to scikit-learn's 10-epoch test AUC on Adult, against ``MLPClassifier``;
* the same epoch on the synthetic wide table (``bench_training.make_synthetic``), against ``MLPClassifier``;
* DP-SGD epoch on Adult (closed-form per-sample clipping), against Opacus ghost clipping and Opacus hooks;
* SHAP for 10,000 rows, against shap's ``DeepExplainer`` and ``KernelExplainer`` (Kernel measured on
  ``--kernel-rows`` rows and scaled: it takes hours for 10,000);
* fairness intervals (1,000 resamples) on 1M rows, against fairlearn's ``MetricFrame(n_boot=...)`` (scaled);
* 1M x 50 Parquet ingest (``DatasetStore.add``: read, normalise, detect types, store), against pandas
  ``read_parquet`` + ``get_dummies`` and polars ``read_parquet`` + ``to_dummies``;
* the 1M x 50 table end to end through the command line (add, train 2 epochs exactly, explain 10,000 rows, fairness with
  1,000 resamples, loss audit, report), each step a fresh process timed from outside, and its peak memory;
* on a GPU (``--device cuda``): the 1M-row training loop on the GPU against the same machine's CPU.

"ratio" is peer / ours (above 1: we are faster). Our training, SHAP and DP rows run on ``--device``; the peers run
where they can (scikit-learn and KernelExplainer on the CPU). ``--quick`` shrinks every table (100,000-row
synthetic and end-to-end tables, fewer rows explained, one repeat) so the whole run takes a few minutes on two
cores. The table prints as Markdown; ``--out FILE`` also writes it.

Usage: ``python bench/run.py [--quick] [--device cpu|cuda] [--rows N] [--out FILE] [--skip TASK ...]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_fairness import METRICS  # noqa: E402
from bench_fairness import table as fairness_table  # noqa: E402
from bench_training import LEARNING_RATES, encode, load_adult, make_synthetic, run_sklearn, time_to  # noqa: E402
from make_table import write_table  # noqa: E402

from core.device import training_threads  # noqa: E402
from core.errors import RunCancelledError  # noqa: E402
from core.training import TrainConfig, fit  # noqa: E402

TASKS = ("mlp", "dp", "shap", "fairness", "ingest", "e2e", "gpu")


@dataclass
class Row:
    task: str
    ours: float | None
    peer: str = ""
    theirs: float | None = None
    unit: str = "s"
    note: str = ""
    device: str = "cpu"

    def cells(self) -> list[str]:
        ratio = f"{self.theirs / self.ours:,.1f}x" if self.ours and self.theirs else ""
        return [self.task, _fmt(self.ours, self.unit), self.peer or "-", _fmt(self.theirs, self.unit), ratio,
                self.device, self.note]


@dataclass
class Bench:
    device: torch.device
    quick: bool
    rows: int
    repeats: int
    out: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        if row.peer and row.device.startswith("cuda") and "CPU" not in row.peer:
            row.note = "; ".join(n for n in (row.note, "the peer runs on the CPU") if n)
        self.out.append(row)
        print("  " + " | ".join(row.cells()), flush=True)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "GB":
        return f"{value:.2f} GB"
    return f"{value:,.3f} s" if value < 10 else f"{value:,.1f} s"


def best(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` runs: other processes on a shared machine only ever slow a run down."""
    times = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# -- training ---------------------------------------------------------------------------------------------------------


def run_ours(data, batch: int, epochs: int, target: float | None, device: torch.device) -> dict:
    """``fit`` on ``device`` until ``target`` test AUC (or ``epochs``): per-epoch times and AUCs."""
    xtr, ytr, xte, yte = data[:4]
    config = TrainConfig(batch_size=batch, learning_rate=LEARNING_RATES.get(batch, 5e-3), epochs=epochs,
                         early_stopping_patience=0, weight_decay=1e-4)
    records: list = []

    def on_epoch(record) -> None:
        records.append(record)

    def stop() -> bool:
        return bool(target is not None and records and records[-1].val_auc >= target)

    with contextlib.suppress(RunCancelledError):
        fit(xtr, ytr, xte, yte, n_classes=2, config=config, device=device, on_epoch=on_epoch, should_stop=stop)
    cumulative = [r.seconds for r in records]
    return {"times": list(np.diff([0.0, *cumulative])), "aucs": [r.val_auc for r in records],
            "cumulative": cumulative}


def _steady(result: dict) -> float:
    times = result["times"][1:] if len(result["times"]) > 1 else result["times"]
    return float(min(times))


def bench_mlp(b: Bench) -> None:
    adult = encode(*load_adult())
    epochs = 4 if b.quick else 10
    sk = run_sklearn(*adult[:4], batch=256, epochs=epochs, target=None, lr=1e-3)
    target = max(sk["aucs"])
    ours = run_ours(adult, 256, epochs, None, b.device)
    b.add(Row("MLP (64, 32) epoch, Adult, batch 256", _steady(ours), "scikit-learn MLPClassifier", _steady(sk),
              device=str(b.device), note=f"AUC ours {max(ours['aucs']):.3f}, sklearn {target:.3f}"))
    sk_to, _ = time_to(sk, target)
    candidates = []
    for batch in (256, 1024) if b.quick else (256, 1024, 4096):
        run = run_ours(adult, batch, epochs * 3, target, b.device)
        reached, epoch_count = time_to(run, target)
        if reached is not None:
            candidates.append((reached, batch, epoch_count))
    if candidates:
        reached, batch, epoch_count = min(candidates)
        b.add(Row(f"MLP time to scikit-learn's {epochs}-epoch AUC {target:.3f}, Adult", reached,
                  "MLPClassifier batch 256", sk_to, device=str(b.device),
                  note=f"ours at batch {batch}, {epoch_count} epoch(s)"))
    else:
        b.add(Row(f"MLP time to scikit-learn's {epochs}-epoch AUC {target:.3f}, Adult", None,
                  "MLPClassifier batch 256", sk_to, device=str(b.device), note="ours did not reach it"))
    synthetic = encode(*make_synthetic(b.rows))
    ours_wide = run_ours(synthetic, 1024, 2, None, b.device)
    sk_wide = run_sklearn(*synthetic[:4], batch=1024, epochs=1, target=None, lr=LEARNING_RATES[1024])
    b.add(Row(f"MLP epoch, synthetic {len(synthetic[0]):,} x {synthetic[0].shape[1]} encoded, batch 1024",
              _steady(ours_wide), "MLPClassifier", _steady(sk_wide), device=str(b.device)))


def bench_dp(b: Bench) -> None:
    from bench_privacy import BATCH, CLIP, NOISE, _opacus_epoch_seconds

    xtr, ytr, xte, yte, _ = encode(*load_adult())
    epochs = 2 if b.quick else 3
    config = TrainConfig(batch_size=BATCH, epochs=epochs, early_stopping_patience=0, noise_multiplier=NOISE,
                         max_grad_norm=CLIP, accountant="rdp")
    ours = min(_steady(_history(fit(xtr, ytr, xte[:256], yte[:256], n_classes=2, config=config, device=b.device)))
               for _ in range(b.repeats))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ghost = min(_opacus_epoch_seconds(xtr, ytr, "ghost", epochs) for _ in range(b.repeats))
        hooks = _opacus_epoch_seconds(xtr, ytr, "hooks", 2)
    b.add(Row("DP-SGD epoch, Adult, expected batch 1024", ours, "Opacus ghost clipping", ghost,
              device=str(b.device)))
    b.add(Row("DP-SGD epoch, Adult, expected batch 1024", ours, "Opacus hooks + DataLoader", hooks,
              device=str(b.device)))


def _history(result) -> dict:
    return {"times": list(np.diff([0.0, *(h.seconds for h in result.history)]))}


# -- explanations -----------------------------------------------------------------------------------------------------


def bench_shap(b: Bench) -> None:
    import copy

    import shap
    from bench_explain import prepare

    from core.explain import attribute

    rows = 2_000 if b.quick else 10_000
    model, _, x, bg, _, _ = prepare(*load_adult(), epochs=2, rows=rows, background=200)
    cpu_model = copy.deepcopy(model).cpu()
    model = model.to(b.device)  # attribute() takes numpy rows and moves them to the model's device (counted)
    ours = best(lambda: (attribute(model, x, bg), _sync(b.device)), b.repeats)
    started = time.perf_counter()
    deep_rows = rows if not b.quick else 500
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deep = shap.DeepExplainer(copy.deepcopy(cpu_model), torch.tensor(bg))
        deep.shap_values(torch.tensor(x[:deep_rows]), check_additivity=False)
    deep_s = (time.perf_counter() - started) * rows / deep_rows
    note = f"{rows:,} Adult rows, background 200"
    b.add(Row(f"SHAP values, {rows:,} rows", ours, "shap DeepExplainer", deep_s, device=str(b.device),
              note=note + ("" if deep_rows == rows else f"; Deep scaled from {deep_rows} rows")))

    def logit(data: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return cpu_model(torch.tensor(data, dtype=torch.float32))[:, 0].double().numpy()

    k = 3 if b.quick else 10
    kernel = shap.KernelExplainer(logit, bg)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kernel.shap_values(x[:k], silent=True)
    kernel_s = (time.perf_counter() - started) * rows / k
    b.add(Row(f"SHAP values, {rows:,} rows", ours, "shap KernelExplainer", kernel_s, device=str(b.device),
              note=f"Kernel measured on {k} rows, scaled x{rows // k:,}"))


# -- fairness ---------------------------------------------------------------------------------------------------------


def bench_fairness(b: Bench) -> None:
    from fairlearn.metrics import MetricFrame

    from core.fairness import audit_groups

    y, pred, score, groups = fairness_table(b.rows)
    resamples, k = 1000, 2
    ours = best(lambda: audit_groups(y, pred, groups, score=score, resamples=resamples), b.repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = best(lambda: MetricFrame(metrics=METRICS, y_true=y, y_pred=pred, sensitive_features=groups), 1)
        boot = best(lambda: MetricFrame(metrics=METRICS, y_true=y, y_pred=pred, sensitive_features=groups,
                                        n_boot=k, ci_quantiles=[0.025, 0.975], random_state=0), 1)
    theirs = plain + max(boot - plain, 0.0) / k * resamples
    b.add(Row(f"Fairness, 4 groups, {b.rows:,} rows, {resamples:,}-resample intervals", ours,
              "fairlearn MetricFrame n_boot", theirs, note=f"MetricFrame scaled from n_boot={k}"))


# -- ingest and the command line --------------------------------------------------------------------------------------


def bench_ingest(b: Bench, table: Path) -> None:
    import pandas as pd

    from core.data.store import DatasetStore

    data = table.read_bytes()

    def ours() -> None:
        with tempfile.TemporaryDirectory() as home:
            DatasetStore(home).add(data, table.name)

    def pandas_peer() -> None:
        frame = pd.read_parquet(table)
        pd.get_dummies(frame, columns=[c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])])

    seconds = best(ours, b.repeats)
    label = f"Ingest {b.rows:,} x 51 Parquet (read, types, store)"
    b.add(Row(label, seconds, "pandas read_parquet + get_dummies", best(pandas_peer, b.repeats),
              note="ours also detects kinds and writes the stored copy"))
    try:
        import polars as pl
    except ImportError:
        return

    def polars_peer() -> None:
        frame = pl.read_parquet(table)
        frame.to_dummies(columns=[c for c, t in frame.schema.items() if not t.is_numeric()])

    b.add(Row(label, seconds, "polars read_parquet + to_dummies", best(polars_peer, b.repeats)))


STEPS = (
    ("add", ["datasets", "add", "{table}"]),
    # exactly 2 epochs, as the target defines the step: without --min-steps 0 the 2,000-step floor (#17, meant for
    # small tables) would make the 700,000 training rows run a third epoch at the planned batch
    ("train", ["train", "{table}", "--target", "y", "--model", "mlp", "--epochs", "2", "--min-steps", "0",
               "--sensitive", "group", "--json"]),
    ("explain", ["explain", "{run}", "--rows", "{explain_rows}"]),
    ("fairness", ["fairness", "{run}", "--sensitive", "group", "--resamples", "1000"]),
    ("audit", ["audit", "{run}", "--attack", "loss"]),
    ("report", ["report", "{run}", "--out", "{home}/report.html"]),
)


#: Runs the command as its own child and writes that child's peak memory (KB) to the file named first. A process
#: forked from this (large) benchmark process would start with its resident pages counted, so the step's peak is
#: taken one level down, from a small launcher.
_LAUNCH = """import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds and peak resident memory (GB, the operating system's own count) of one command, and its
    standard output."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _LAUNCH, str(peak_file), *argv], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
        return wall, int(peak_file.read_text()) / 2**20, done.stdout


def bench_e2e(b: Bench, table: Path) -> None:
    import json

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, RISKBOARD_HOME=home, RISKBOARD_WARM_WORKER="0", RISKBOARD_DEVICE=b.device.type,
                   RISKBOARD_MAX_UPLOAD_MB="2000")
        values = {"table": str(table), "home": home, "run": "", "explain_rows": "10000"}
        total, peak, parts = 0.0, 0.0, []
        for name, argv in STEPS:
            wall, gb, out = _timed([sys.executable, "-m", "core", *(a.format(**values) for a in argv)], env)
            if name == "train":
                values["run"] = json.loads(out)["run_id"]
            total += wall
            peak = max(peak, gb)
            parts.append(f"{name} {wall:.1f} s, {gb:.2f} GB")
        b.add(Row(f"End to end {b.rows:,} x 51 through the CLI (6 commands)", total, device=b.device.type,
                  note="; ".join(parts)))
        b.add(Row("Peak memory of any step", peak, unit="GB", device=b.device.type))


def bench_gpu(b: Bench) -> None:
    """The 1M-row loop on the GPU against this machine's CPU (only when ``--device cuda``)."""
    data = encode(*make_synthetic(b.rows))
    cpu = run_ours(data, 1024, 2, None, torch.device("cpu"))
    for batch in (1024, 8192):
        gpu = run_ours(data, batch, 2, None, b.device)
        b.add(Row(f"Training loop, {len(data[0]):,} rows, 2 epochs, batch {batch} on the GPU", gpu["cumulative"][-1],
                  "same loop on this machine's CPU, batch 1024", cpu["cumulative"][-1], device=str(b.device),
                  note=f"AUC gpu {gpu['aucs'][-1]:.3f}, cpu {cpu['aucs'][-1]:.3f}"))


def machine(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    text = (f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__} at {torch.get_num_threads()} thread(s), "
            f"Python {platform.python_version()}")
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def render(b: Bench) -> str:
    head = ["task", "ours", "peer", "peer's figure", "ratio (peer / ours)", "device", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([" --- "] * len(head)) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in b.out]
    mode = "quick" if b.quick else "full"
    return (f"Machine: {machine(b.device)}; device {b.device}; {mode} run, best of {b.repeats}\n\n"
            + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small tables, one repeat: a few minutes on 2 cores")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] for our training, SHAP and DP rows")
    parser.add_argument("--rows", type=int, default=None, help="rows of the synthetic and end-to-end tables")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--skip", nargs="*", default=[], choices=TASKS, help="tasks to leave out")
    parser.add_argument("--out", help="also write the Markdown table to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda needs a CUDA GPU that torch can see")
    torch.set_num_threads(training_threads())  # what a training worker uses: every core but one
    b = Bench(device=device, quick=args.quick, rows=args.rows or (100_000 if args.quick else 1_000_000),
              repeats=args.repeats or (1 if args.quick else 3))
    print(f"benchmarks on {device} ({'quick' if args.quick else 'full'}, {b.rows:,}-row tables)", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        table = Path(scratch) / "table.parquet"
        if {"ingest", "e2e"} - set(args.skip):
            write_table(str(table), b.rows)
        runs = {"mlp": lambda: bench_mlp(b), "dp": lambda: bench_dp(b), "shap": lambda: bench_shap(b),
                "fairness": lambda: bench_fairness(b), "ingest": lambda: bench_ingest(b, table),
                "e2e": lambda: bench_e2e(b, table), "gpu": lambda: bench_gpu(b)}
        for task in TASKS:
            if task in args.skip or (task == "gpu" and device.type != "cuda"):
                continue
            print(f"- {task}", flush=True)
            runs[task]()
    text = render(b)
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
