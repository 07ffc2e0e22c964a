"""CLI twins of the Train page: ``train``, ``runs`` and ``cancel``. Training runs through the worker's own code."""

from __future__ import annotations

import argparse
import math
from dataclasses import fields

from core.config import get_settings
from core.errors import RunNotFoundError, SpecError, TrainingError

_RUN_FIELDS = ("id", "status", "kind", "dataset_id", "device", "created_at", "started_at", "finished_at", "error")


def _finite(metrics: dict) -> dict:
    """JSON has no NaN: undefined metrics (e.g. AUC on a one-class test set) become null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in (metrics or {}).items()}


def _build_spec(meta, frame, args: argparse.Namespace):
    from core.data.spec import (
        DatasetSpec,
        SensitiveColumn,
        check_target_classes,
        class_counts,
        resolve_positive_class,
        suggest_spec,
        validate_spec,
    )

    schema = meta.schema_obj()
    suggestion = suggest_spec(frame, schema, meta.id, target=args.target)
    check_target_classes(args.target, class_counts(frame, args.target))
    kinds = {c.name: c.kind for c in schema.columns}
    if args.sensitive:
        unknown = [c for c in args.sensitive if c not in kinds]
        if unknown:
            raise SpecError(f"Sensitive column(s) {', '.join(map(repr, unknown))} are not in the table; pick from "
                            f"{', '.join(map(repr, list(kinds)[:8]))}.")
        sensitive = tuple(SensitiveColumn(c, binning="quantile" if kinds[c] == "numeric" else "none")
                          for c in args.sensitive)
    else:
        sensitive = suggestion.spec.sensitive
    if args.features:
        unknown = [c for c in args.features if c not in kinds]
        if unknown:
            raise SpecError(f"Feature column(s) {', '.join(map(repr, unknown))} are not in the table.")
        features = tuple(args.features)
    else:
        features = suggestion.spec.features
    if not features:
        reasons = "; ".join(list(suggestion.excluded.values())[:5])
        raise SpecError(f"No usable feature columns: {reasons}. Name the columns to use with --features.")
    positive = (suggestion.spec.positive_class if args.positive is None
                else resolve_positive_class(frame, args.target, str(args.positive)))
    spec = DatasetSpec(dataset_id=meta.id, target=args.target, positive_class=positive,
                       features=features, sensitive=sensitive, name=f"{args.target} = {positive}")
    return spec, validate_spec(frame, spec)


def _config(args: argparse.Namespace):
    from core.training.config import TrainConfig

    overrides = {"model": args.model, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
                 "learning_rate": args.learning_rate}
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig.from_dict({k: v for k, v in overrides.items() if v is not None and k in known})
    config.validate()
    return config


def _cmd_train(args: argparse.Namespace) -> int:
    from core import jobs
    from core.cli import emit_json, read_file_bytes
    from core.data.store import DatasetStore
    from core.runs import CANCELLED, SUCCEEDED, RunStore
    from core.training.pipeline import TASK

    home = get_settings().home
    datasets = DatasetStore(home)
    data, name = read_file_bytes(args.file)
    meta = datasets.add(data, name)
    frame = datasets.load(meta.id)
    spec, warnings = _build_spec(meta, frame, args)
    config = _config(args)
    datasets.save_spec(spec)
    del frame  # the run loads its own copy; two copies of a big table would double peak memory
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(), config=config.to_dict(),
                             task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    record = runs.get(run_id)
    if record.status != SUCCEEDED:
        if record.status == CANCELLED:
            raise TrainingError(f"Run {run_id} was cancelled.")
        raise TrainingError(f"Run {run_id} failed: {record.error}")
    metrics = _finite(record.metrics)
    payload = {"run_id": run_id, "status": record.status, "device": record.device or "",
               "seconds": float(record.duration_s or metrics.get("seconds") or 0.0), "metrics": metrics,
               "dataset_id": meta.id, "spec_id": spec.spec_id, "warnings": warnings}
    if args.json:
        emit_json(payload)
    else:
        print(f"run {run_id} {record.status} on {payload['device']} in {payload['seconds']:.1f} s")
        for key in ("accuracy", "balanced_accuracy", "roc_auc", "pr_auc", "f1", "log_loss", "brier"):
            if metrics.get(key) is not None:
                print(f"  {key:<18} {metrics[key]:.4f}")
        for warning in warnings:
            print(f"warning: {warning}")
    return 0


def _record_dict(record) -> dict:
    out = {name: getattr(record, name, None) for name in _RUN_FIELDS}
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in out.items()}
    out["run_id"] = record.id  # the same key `train --json` prints
    out["metrics"] = _finite(record.metrics)
    return out


def _cmd_runs(args: argparse.Namespace) -> int:
    from core import jobs
    from core.cli import emit_json
    from core.runs import RunStore

    settings = get_settings()
    store = RunStore(settings.home)
    jobs.refresh(store, settings)
    if args.run_id:
        record = store.get(args.run_id)
        payload = _record_dict(record) | {"epochs": store.epochs(args.run_id), "config": record.config,
                                           "spec": record.spec}
        if args.json:
            emit_json(payload)
        else:
            for key, value in payload.items():
                if key not in ("epochs", "config", "spec", "metrics", "run_id"):
                    print(f"{key:<12} {'' if value is None else value}")
            for key, value in payload["metrics"].items():
                print(f"  {key:<18} {'undefined' if value is None else f'{value:.4g}'}")
        return 0
    records = store.list(status=args.status)
    if args.json:
        emit_json({"runs": [_record_dict(r) for r in records]})
        return 0
    for r in records:
        auc = (r.metrics or {}).get("roc_auc")
        auc_text = f"AUC {auc:.3f}" if isinstance(auc, float) and math.isfinite(auc) else ""
        print(f"{r.id}  {r.status:<9} {r.device or '':<10} {auc_text}  {r.error or ''}")
    return 0


def _cmd_cancel(args: argparse.Namespace) -> int:
    from core import jobs
    from core.runs import RunStore

    store = RunStore(get_settings().home)
    record = store.get(args.run_id)
    if record.is_finished:
        raise RunNotFoundError(f"Run {args.run_id} already finished ({record.status}); there is nothing to cancel.")
    jobs.cancel(store, args.run_id)
    print(f"cancel requested for {args.run_id}; status now {store.get(args.run_id).status}")
    return 0


def register(sub) -> None:
    train = sub.add_parser("train", help="train a model on a file, store the run, print its test metrics")
    train.add_argument("file")
    train.add_argument("--target", required=True, help="column to predict")
    train.add_argument("--positive", help="positive class (default: the rarest class)")
    train.add_argument("--sensitive", nargs="*", default=None, help="columns to audit by (default: suggested)")
    train.add_argument("--features", nargs="+", default=None,
                       help="columns the model may use (default: all but the target, identifiers and constants)")
    train.add_argument("--model", choices=["logistic", "mlp"], default=None)
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--learning-rate", type=float, default=None)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.set_defaults(func=_cmd_train)

    runs = sub.add_parser("runs", help="list runs, or show one")
    runs.add_argument("run_id", nargs="?")
    runs.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"])
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=_cmd_runs)

    cancel = sub.add_parser("cancel", help="ask a queued or running run to stop")
    cancel.add_argument("run_id")
    cancel.set_defaults(func=_cmd_cancel)


__all__ = ["register"]
