#!/usr/bin/env python3
"""One prepared GPU run for issue 16: the training loop on 1M x 179 (CUDA graph vs eager vs this machine's CPU: time
and validation AUC after 2 epochs), the CLI's 1M training run on cuda, and the training tests with CUDA visible.

Usage from the project root on a CUDA machine: ``python bench/bench_cuda_graphs.py OUT_DIR`` (about 3 minutes on an
H200); ``DRY=1`` runs the loop part on this machine's CPU with 20,000 rows to check the script. Writes
OUT_DIR/summary.json as it goes. Needs ``../shared/bench/make_big.py`` (or a copy in ``.devrun/``)."""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)
START = time.time()
res = {}


def save():
    (OUT / "summary.json").write_text(json.dumps(res, indent=1, default=str))


def loop_part():
    import numpy as np
    import torch

    from core.training.config import TrainConfig
    from core.training.loop import fit
    res["info"] = {"torch": torch.__version__, "cpus": os.cpu_count(),
                   "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    rng = np.random.default_rng(0)
    dry = os.environ.get("DRY") == "1"
    n, d = (20_000 if dry else 1_000_000), 179
    X = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=d).astype(np.float32) / np.sqrt(d)
    z = X @ w + 0.7 * np.tanh(X[:, 0] * X[:, 1]) - 0.5 * (X[:, 2] ** 2 - 1)
    y = (z + rng.logistic(size=n) * 0.5 > 0).astype(np.int64)
    tr, va = slice(0, int(n * 0.8)), slice(int(n * 0.8), int(n * 0.9))
    dev = "cpu" if dry else "cuda"
    torch.zeros(1, device=dev) @ torch.zeros(1, 1, device=dev)  # context made before timing, as the standby does
    if not dry:
        torch.cuda.synchronize()
    for name, device, graphs, batch in (("cuda graph b1024", "cuda", "1", 1024),
                                        ("cuda eager b1024", "cuda", "0", 1024),
                                        ("cuda graph b1024 again", "cuda", "1", 1024),
                                        ("cpu b1024", "cpu", "0", 1024)):
        os.environ["RISKBOARD_CUDA_GRAPHS"] = graphs
        device = "cpu" if dry else device
        if device == "cpu":
            torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
        cfg = TrainConfig(epochs=2, batch_size=batch, early_stopping_patience=0)
        t = time.perf_counter()
        try:
            r = fit(X[tr], y[tr], X[va], y[va], n_classes=2, config=cfg, device=torch.device(device))
            res[name] = {"wall_s": round(time.perf_counter() - t, 3), "fit_s": round(r.seconds, 3),
                         "epoch_s": [round(h.seconds, 3) for h in r.history],
                         "val_auc": [round(h.val_auc, 5) for h in r.history],
                         "train_loss": [round(h.train_loss, 5) for h in r.history], "extra": r.extra}
        except Exception as exc:  # noqa
            res[name] = {"error": repr(exc)[:500]}
        save()
        print(name, res[name], flush=True)


def cli_part():
    home = Path(tempfile.mkdtemp(prefix="rb-gpu-"))
    big = home / "big.parquet"
    t = time.time()
    make_big = next(p for p in (Path(".devrun/make_big.py"), Path("../shared/bench/make_big.py")) if p.exists())
    subprocess.run([sys.executable, str(make_big), str(big)], capture_output=True, timeout=120)
    res["make_big_s"] = round(time.time() - t, 1)
    env = dict(os.environ, RISKBOARD_HOME=str(home), RISKBOARD_DEVICE="cuda", PYTHONWARNINGS="ignore")
    env["RISKBOARD_CUDA_GRAPHS"] = "1"
    t = time.time()
    p = subprocess.run([sys.executable, "-m", "core", "train", str(big), "--target", "y", "--sensitive", "group",
                        "--model", "mlp", "--epochs", "2", "--json"], capture_output=True, text=True, timeout=150,
                       env=env)
    out = {}
    for line in reversed(p.stdout.strip().splitlines()):
        try:
            out = json.loads(line)
            break
        except json.JSONDecodeError:
            continue
    m = out.get("metrics") or {}
    res["cli_train_1M_cuda"] = {"exit": p.returncode, "wall_s": round(time.time() - t, 1),
                                "seconds": out.get("seconds"), "device": out.get("device"),
                                "auc": m.get("roc_auc"), "cuda_graph": m.get("cuda_graph"),
                                "epochs_run": m.get("epochs_run"), "batch": m.get("batch_size_used"),
                                "stderr": p.stderr[-600:] if p.returncode else ""}
    save()
    print(res["cli_train_1M_cuda"], flush=True)


def tests_part():
    t = time.time()
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                        "tests/core/test_graphed_step.py", "tests/core/test_training.py",
                        "tests/core/test_dp_training.py", "tests/core/test_pipeline.py"],
                       capture_output=True, text=True, timeout=150)
    res["pytest"] = {"exit": p.returncode, "wall_s": round(time.time() - t, 1),
                     "tail": p.stdout.strip().splitlines()[-15:]}
    save()


for part in (loop_part, cli_part, tests_part):
    try:
        part()
    except Exception as exc:  # noqa
        res[part.__name__ + "_error"] = repr(exc)[:500]
        save()
res["total_s"] = round(time.time() - START, 1)
save()
print(json.dumps(res, indent=1, default=str))
