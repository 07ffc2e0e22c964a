"""``train FILE --target T``: the Train page's twin. Training runs in this process through the worker's own code."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli._common import emit_json, json_flag, read_file_bytes, settings_home, warn
from core.errors import TrainingError
from core.runs import RunKind

if TYPE_CHECKING:  # the CLI imports the engine lazily; these are for the type checker only
    from core.data.spec import BuiltSpec
    from core.data.store import DatasetMeta, DatasetStore
    from core.training.config import TrainConfig


def _config(args: argparse.Namespace):
    from core.training.config import DP_RECIPE, TrainConfig

    overrides = {"model": args.model, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
                 "learning_rate": args.learning_rate, "solver": args.solver, "optimizer": args.optimizer,
                 "C": args.C, "min_steps": args.min_steps, "target_epsilon": args.epsilon,
                 "noise_multiplier": args.noise_multiplier, "delta": args.delta, "max_grad_norm": args.max_grad_norm}
    known = {f.name for f in fields(TrainConfig)}
    given = {k: v for k, v in overrides.items() if v is not None and k in known}
    if args.epsilon is not None or args.noise_multiplier is not None:
        recipe = {k: v for k, v in DP_RECIPE.items() if k not in given}
        if recipe:
            warn("private run: using the DP-SGD recipe for " + ", ".join(f"{k}={v}" for k, v in recipe.items())
                 + " (pass --epochs or --learning-rate to choose your own)")
        given = recipe | given
    config = TrainConfig.from_dict(given)
    config.validate()
    return config


def _cmd_train(args: argparse.Namespace) -> int:
    from core.warmup import warm_up_in_background

    # torch, the training pipeline (scikit-learn, scipy) and the device, while this thread reads and stores the table
    warming = warm_up_in_background("core.training.pipeline")
    code = _build_and_train(args)  # a user's mistake raises and is reported at once: the daemon thread ends with us
    warming.join(timeout=60)  # after a run, never leave the thread inside an import or CUDA's start-up at exit
    return code


def _build_and_train(args: argparse.Namespace) -> int:
    """Store the table, build the spec (what the run learns from), then train."""
    from core.data.spec import build_spec
    from core.data.store import DatasetStore

    home = settings_home()
    datasets = DatasetStore(home)
    data, name = read_file_bytes(args.file)
    meta = datasets.add(data, name)
    frame = datasets.load(meta.id)
    built = build_spec(frame, meta.schema_obj(), meta.id, target=args.target, positive=args.positive,
                       features=args.features, sensitive=args.sensitive)
    config = _config(args)
    del frame  # the run loads its own copy; two copies of a big table would double peak memory
    return _train_and_report(args, home, datasets, meta, built, config)


def _train_and_report(args: argparse.Namespace, home: Path, datasets: DatasetStore, meta: DatasetMeta,
                      built: BuiltSpec, config: TrainConfig) -> int:
    """Create the run, train it in this process, print or emit its result."""
    from core import jobs
    from core.cli.runs import placement_fields, run_caution_dict
    from core.data.notices import excluded_lines
    from core.runs import CANCELLED, SUCCEEDED, RunStore
    from core.training.pipeline import TASK

    excluded = [{"column": column, "reason": reason} for column, reason in built.excluded.items()]
    for warning in built.warnings:
        warn(warning)
    for line in excluded_lines(built.excluded):  # constant/empty columns in one line, not one each
        warn(f"left out of the features: {line} (name columns with --features to use them)")
    spec = built.spec
    datasets.save_spec(spec)
    runs = RunStore(home)
    run_id = runs.create_run(kind=RunKind.TRAIN, dataset_id=meta.id, spec=spec.to_dict(), config=config.to_dict(),
                             task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    record = runs.get(run_id)
    if record.status != SUCCEEDED:
        if record.status == CANCELLED:
            raise TrainingError(f"Run {run_id} was cancelled.")
        raise TrainingError(f"Run {run_id} failed: {record.error}")
    metrics = dict(record.metrics or {})
    caution = run_caution_dict(home, record)
    if caution:
        warn(caution["message"])
    payload = {"run_id": run_id, "status": record.status, "device": record.device or "",
               "seconds": float(record.duration_s or metrics.get("seconds") or 0.0), "metrics": metrics,
               "dataset_id": meta.id, "spec_id": spec.spec_id, "features": list(spec.features),
               "warnings": list(built.warnings), "excluded": excluded, "caution": caution}
    payload |= _privacy_fields(runs, run_id, metrics) | placement_fields(runs, run_id)
    if args.json:
        emit_json(payload)
        return 0
    print(f"run {run_id} {record.status} on {payload['device']} in {payload['seconds']:.1f} s "
          f"({payload['executor']} executor)")
    if payload["epsilon"] is not None:
        print(f"  private: epsilon {payload['epsilon']:.3f} at delta {payload['delta']:g} "
              f"({payload['accountant']} accountant)")
    else:
        print("  not private: no differential-privacy guarantee")
    for key in ("accuracy", "balanced_accuracy", "roc_auc", "pr_auc", "f1", "log_loss", "brier", "macro_f1",
                "weighted_f1", "macro_roc_auc"):  # the macro / weighted averages exist for 3+ classes
        value = metrics.get(key)
        if isinstance(value, float):
            print(f"  {key:<18} {value:.4f}")
    return 0


def _privacy_fields(runs, run_id: str, metrics: dict) -> dict:
    """epsilon, delta, accountant of a private run; all three null for a non-private one."""
    from core.dp import load_privacy

    privacy = load_privacy(runs.artifacts(run_id))
    if privacy is None:
        return {"epsilon": None, "delta": None, "accountant": None}
    return {"epsilon": float(metrics["epsilon"]), "delta": float(metrics["delta"]),
            "accountant": str(privacy["accountant"])}


def register(sub) -> None:
    train = sub.add_parser("train", parents=[json_flag()],
                           help="train a model on a file, store the run, print its test metrics")
    train.add_argument("file")
    train.add_argument("--target", required=True, help="column to predict")
    train.add_argument("--positive", help="positive class (default: the rarest class)")
    train.add_argument("--sensitive", nargs="*", default=None, help="columns to audit by (default: suggested)")
    train.add_argument("--features", nargs="+", default=None,
                       help="columns the model may use (default: all but the target, identifiers, constants and "
                            "columns that leak the target)")
    train.add_argument("--model", choices=["logistic", "mlp"], default=None)
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--learning-rate", type=float, default=None)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--solver", choices=["auto", "lbfgs", "minibatch"], default=None,
                       help="auto (default): logistic solved exactly with L-BFGS, MLP and private runs in minibatches; "
                            "minibatch: the epoch loop with --optimizer for any model")
    train.add_argument("--optimizer", choices=["adamw", "sgd"], default=None, help="minibatch update rule")
    train.add_argument("--C", type=float, default=None,
                       help="L-BFGS logistic: inverse L2 strength, as scikit-learn's C (default 1.0)")
    train.add_argument("--min-steps", type=int, default=None,
                       help="minibatch: least optimiser steps before the epochs run out (default 2000; 0: epochs)")
    private = train.add_mutually_exclusive_group()
    private.add_argument("--epsilon", type=float, default=None,
                         help="train with differential privacy (DP-SGD) at this target epsilon")
    private.add_argument("--noise-multiplier", type=float, default=None,
                         help="train with DP-SGD at this noise multiplier (epsilon is reported)")
    train.add_argument("--delta", type=float, default=None, help="DP delta (default: a power of ten below 1/rows)")
    train.add_argument("--max-grad-norm", type=float, default=None, help="DP per-row clipping norm (default 1.0)")
    train.set_defaults(func=_cmd_train)
