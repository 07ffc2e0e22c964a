"""Encryption at rest: the cost of a key on the whole pipeline (add, train, explain, fairness, report).

Runs the same pipeline on the same synthetic table twice, in two fresh workspaces: once without a key, once with
``RISKBOARD_DATA_KEY`` set, and prints one row per stage with the overhead, in CPU seconds of this process (every
thread; training runs inline) beside wall seconds: on a shared machine wall time measures the neighbours, CPU time
measures the work. It also counts the CPU spent inside sealing and opening (calls, megabytes), which is the cost
of encryption itself, and prints the raw AES-256-GCM throughput on the stored Parquet bytes.
Usage: ``python bench/bench_encryption.py [--rows 1000000] [--epochs 2] [--explain-rows 10000]``.
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

import core.security.at_rest as at_rest  # noqa: E402
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
CRYPTO = {"calls": 0, "megabytes": 0.0, "cpu_s": 0.0}


def _counted(function):
    """``function`` (seal or open) with its calls, bytes and CPU seconds added to :data:`CRYPTO`."""
    def wrapper(data, *args, **kwargs):
        start = time.process_time()
        out = function(data, *args, **kwargs)
        CRYPTO["cpu_s"] += time.process_time() - start
        CRYPTO["calls"] += 1
        CRYPTO["megabytes"] += len(data) / 1e6
        return out
    return wrapper


at_rest.seal, at_rest.open_sealed = _counted(at_rest.seal), _counted(at_rest.open_sealed)


class Clock:
    """Wall and CPU seconds (this process, all threads) of one stage."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def table_bytes(rows: int) -> bytes:
    frame, y, _, _ = make_synthetic(rows)
    frame["label"] = ["yes" if v else "no" for v in y]
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def pipeline(home: Path, data: bytes, explain_rows: int, epochs: int) -> dict[str, tuple[float, float]]:
    """``{stage: (wall s, CPU s)}`` for one pass."""
    times: dict[str, tuple[float, float]] = {}
    runs = RunStore(home)
    with Clock() as clock:
        meta = DatasetStore(home).add(data, "synthetic.parquet")
        columns = [c["name"] for c in meta.schema["columns"] if c["name"] != "label"]
        spec = DatasetSpec(dataset_id=meta.id, target="label", positive_class="yes", features=tuple(columns),
                           sensitive=(SensitiveColumn("cat_0"),))
        DatasetStore(home).save_spec(spec)
    times["add"] = (clock.wall, clock.cpu)
    with Clock() as clock:
        config = TrainConfig(epochs=epochs, batch_size=4096, early_stopping_patience=0).to_dict()
        run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(), task=TASK, config=config)
        jobs.run_inline(runs, run_id, TASK)
    times["train"] = (clock.wall, clock.cpu)
    with Clock() as clock:
        explain_run(runs, run_id, rows=explain_rows, background=200)
    times["explain"] = (clock.wall, clock.cpu)
    with Clock() as clock:
        run_fairness(runs, run_id, ["cat_0"], resamples=200)
    times["fairness"] = (clock.wall, clock.cpu)
    with Clock() as clock:
        build_report(runs, run_id, "html")
    times["report"] = (clock.wall, clock.cpu)
    return times


def one_pass(data: bytes, key: str | None, explain_rows: int, epochs: int) -> dict[str, tuple[float, float]]:
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
    plain: dict[str, tuple[float, float]] = {}
    encrypted: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeats):
        for target, use in ((plain, None), (encrypted, key)):
            CRYPTO.update(calls=0, megabytes=0.0, cpu_s=0.0)
            for stage, (wall, cpu) in one_pass(data, use, args.explain_rows, args.epochs).items():
                best = target.get(stage, (float("inf"), float("inf")))
                target[stage] = (min(best[0], wall), min(best[1], cpu))
            print(f"pass {'with a key' if use else 'without a key'}: {CRYPTO['calls']} seal/open calls, "
                  f"{CRYPTO['megabytes']:,.0f} MB, {CRYPTO['cpu_s']:.2f} CPU s inside them", flush=True)
    print("\n| stage | CPU s, no key | CPU s, with a key | CPU cost | wall s, no key | wall s, with a key |")
    print("| --- | --- | --- | --- | --- | --- |")
    for stage in (*STAGES, "whole pipeline"):
        if stage == "whole pipeline":
            p = tuple(sum(v[i] for v in plain.values()) for i in (0, 1))
            k = tuple(sum(v[i] for v in encrypted.values()) for i in (0, 1))
        else:
            p, k = plain[stage], encrypted[stage]
        print(f"| {stage} | {p[1]:.1f} | {k[1]:.1f} | {(k[1] / p[1] - 1) * 100:+.1f}% | {p[0]:.1f} | {k[0]:.1f} |")


if __name__ == "__main__":
    main()
