"""Encryption at rest: the cost of a key on the whole pipeline (add, train, explain, fairness, report).

Runs the same pipeline on the same synthetic table twice, in two fresh workspaces: once without a key, once with
``RISKBOARD_DATA_KEY`` set, and prints one row per stage with the overhead. Also prints the raw AES-256-GCM seal and
open throughput on the stored Parquet bytes. Usage: ``python bench/bench_encryption.py [--rows 1000000]``.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_training import make_synthetic  # noqa: E402

from core import jobs  # noqa: E402
from core.data.spec import DatasetSpec, SensitiveColumn  # noqa: E402
from core.data.store import DatasetStore  # noqa: E402
from core.explain import explain_run  # noqa: E402
from core.fairness import run_fairness  # noqa: E402
from core.report import build_report  # noqa: E402
from core.runs import RunStore  # noqa: E402
from core.security.crypto import open_sealed, seal  # noqa: E402
from core.training.config import TrainConfig  # noqa: E402
from core.training.pipeline import TASK  # noqa: E402

STAGES = ("add", "train", "explain", "fairness", "report")


def table_bytes(rows: int) -> bytes:
    frame, y, _, _ = make_synthetic(rows)
    frame["label"] = ["yes" if v else "no" for v in y]
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def pipeline(home: Path, data: bytes, explain_rows: int, epochs: int) -> dict[str, float]:
    times: dict[str, float] = {}
    start = time.perf_counter()
    meta = DatasetStore(home).add(data, "synthetic.parquet")
    columns = [c["name"] for c in meta.schema["columns"] if c["name"] != "label"]
    spec = DatasetSpec(dataset_id=meta.id, target="label", positive_class="yes", features=tuple(columns),
                       sensitive=(SensitiveColumn("cat_0"),))
    DatasetStore(home).save_spec(spec)
    times["add"] = time.perf_counter() - start
    runs = RunStore(home)
    start = time.perf_counter()
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(), task=TASK,
                             config=TrainConfig(epochs=epochs, batch_size=4096, early_stopping_patience=0).to_dict())
    jobs.run_inline(runs, run_id, TASK)
    times["train"] = time.perf_counter() - start
    start = time.perf_counter()
    explain_run(runs, run_id, rows=explain_rows, background=200)
    times["explain"] = time.perf_counter() - start
    start = time.perf_counter()
    run_fairness(runs, run_id, ["cat_0"], resamples=200)
    times["fairness"] = time.perf_counter() - start
    start = time.perf_counter()
    build_report(runs, run_id, "html")
    times["report"] = time.perf_counter() - start
    return times


def one_pass(data: bytes, key: str | None, explain_rows: int, epochs: int) -> dict[str, float]:
    os.environ.pop("RISKBOARD_DATA_KEY", None)
    os.environ.setdefault("RISKBOARD_MAX_UPLOAD_MB", "4096")
    if key:
        os.environ["RISKBOARD_DATA_KEY"] = key
    with tempfile.TemporaryDirectory(prefix="rb-bench-enc-") as folder:
        os.environ["RISKBOARD_HOME"] = folder
        return pipeline(Path(folder), data, explain_rows, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--explain-rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="passes of each kind; the fastest stage counts")
    args = parser.parse_args()
    data = table_bytes(args.rows)
    key_bytes = secrets.token_bytes(32)
    start = time.perf_counter()
    sealed = seal(data, key_bytes, "dataset-bench", "datasets/bench/data.parquet")
    sealing = time.perf_counter() - start
    start = time.perf_counter()
    open_sealed(sealed, key_bytes, "datasets/bench/data.parquet")
    opening = time.perf_counter() - start
    megabytes = len(data) / 1e6
    print(f"{args.rows:,} rows, Parquet {megabytes:,.0f} MB: seal {megabytes / sealing:,.0f} MB/s, "
          f"open {megabytes / opening:,.0f} MB/s\n")
    key = base64.b64encode(key_bytes).decode()
    one_pass(table_bytes(2_000), key, 200, 1)  # warm-up: imports and first-call costs count for neither side
    plain: dict[str, float] = {}
    encrypted: dict[str, float] = {}
    for _ in range(args.repeats):
        for target, use in ((plain, None), (encrypted, key)):
            for stage, seconds in one_pass(data, use, args.explain_rows, args.epochs).items():
                target[stage] = min(target.get(stage, float("inf")), seconds)
    print("| stage | no key | with a key | cost |")
    print("| --- | --- | --- | --- |")
    for stage in STAGES:
        print(f"| {stage} | {plain[stage]:.2f} s | {encrypted[stage]:.2f} s | "
              f"{(encrypted[stage] / plain[stage] - 1) * 100:+.1f}% |")
    total_plain, total_enc = sum(plain.values()), sum(encrypted.values())
    print(f"| whole pipeline | {total_plain:.2f} s | {total_enc:.2f} s | {(total_enc / total_plain - 1) * 100:+.1f}% |")


if __name__ == "__main__":
    main()
