"""``runs [RUN_ID]`` and ``cancel RUN_ID``: the run store, read-only unless a run is cancelled."""

from __future__ import annotations

import argparse
import math

from core.cli._common import emit_json, json_flag, settings_home
from core.errors import RunNotFoundError
from core.runs import RunKind, RunStatus

_RUN_FIELDS = ("id", "status", "kind", "dataset_id", "device", "created_at", "started_at", "finished_at", "error",
               "parent_id")


def _record_dict(record) -> dict:
    from core.runs.naming import display_name

    out = {name: getattr(record, name, None) for name in _RUN_FIELDS}
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in out.items()}
    out["run_id"] = record.id  # the same key `train --json` prints
    out["name"] = display_name(record)
    out["metrics"] = dict(record.metrics or {})
    return out


def placement_fields(store, run_id: str) -> dict:
    """``executor`` (``local`` or ``ray``) and ``placement`` (node, device, workers): where the run ran."""
    from core.jobs import read_placement

    placement = read_placement(store, run_id)
    return {"executor": placement.executor, "placement": placement.to_dict()}


def files_state(store, record) -> dict:
    """``{"state": "ok" | "damaged" | "missing" | "none", "files": [...]}`` for the run's artifacts."""
    from core.training.artifacts import UPLOADED_RUN_FILES, trained_run_files

    if record.status != RunStatus.SUCCEEDED:
        return {"state": "none", "files": []}
    arts = store.artifacts(record.id)
    if not arts.exists():
        return {"state": "missing", "files": []}
    # a reductions mitigation is a mixture of models: it has member files instead of one model.safetensors
    mixture = arts.has("reductions.json")
    required = trained_run_files(arts) if record.kind == RunKind.TRAIN and not mixture else (
        UPLOADED_RUN_FILES if record.is_uploaded_model else ())
    bad = arts.damaged(required)
    return {"state": "damaged" if bad else "ok", "files": bad}


def _files_line(state: dict, run_id: str) -> str:
    from core.runs._artifacts import DAMAGED, FOLDER_MISSING

    if state["state"] == "missing":
        return FOLDER_MISSING.format(run_id=run_id)
    return DAMAGED.format(names=", ".join(state["files"])) if state["state"] == "damaged" else state["state"]


def run_caution_dict(home, record) -> dict | None:
    """The run's "too good to be true" caution (see :mod:`core.training.caution`), or None for an ordinary run."""
    from core.data.spec import DatasetSpec
    from core.data.store import DatasetStore
    from core.errors import RiskboardError
    from core.runs import RunStore
    from core.training.caution import CAUTION_JSON, run_caution

    if record.status != RunStatus.SUCCEEDED or record.kind != RunKind.TRAIN:
        return None
    datasets = DatasetStore(home)
    arts = RunStore(home).artifacts(record.id)
    try:  # what training measured on the table, when it stored it (runs trained before it did not)
        if arts.has(CAUTION_JSON) and datasets.exists(record.dataset_id):
            caution = run_caution(record, None, evidence=arts.read_json(CAUTION_JSON))
            return None if caution is None else caution.to_dict()
    except (RiskboardError, OSError, KeyError, TypeError, ValueError):
        pass  # a damaged record: measured again from the table below
    frame = None
    try:
        if datasets.exists(record.dataset_id):
            spec = DatasetSpec.from_dict(record.spec)
            frame = datasets.load(record.dataset_id, columns=[spec.target, *spec.features])  # all the caution reads
    except (RiskboardError, OSError):
        frame = None  # named as unavailable in the caution
    caution = run_caution(record, frame, _split_or_none(home, record.id))
    return None if caution is None else caution.to_dict()


def _split_or_none(home, run_id: str):
    """The run's split for counting repeated rows, or None when its file is missing or damaged."""
    from core.errors import RiskboardError
    from core.runs import RunStore
    from core.training import artifacts

    try:
        return artifacts.load_split(RunStore(home).artifacts(run_id))
    except (RiskboardError, OSError):
        return None


def _cmd_runs(args: argparse.Namespace) -> int:
    from core import jobs
    from core.config import get_settings
    from core.runs import RunStore

    store = RunStore(settings_home())
    jobs.refresh(store, get_settings())
    if args.rename is not None and not args.run_id:
        raise RunNotFoundError("--rename needs the run to rename: `runs RUN_ID --rename NAME`.")
    if args.rename is not None:
        from core.runs.naming import display_name

        store.rename(args.run_id, args.rename)
        name = display_name(store.get(args.run_id))
        if args.json:
            emit_json({"run_id": args.run_id, "name": name})
        else:
            print(f"{args.run_id} is now named {name!r}")
        return 0
    if args.run_id:
        record = store.get(args.run_id)
        state = files_state(store, record)
        payload = _record_dict(record) | {"epochs": store.epochs(args.run_id), "config": record.config,
                                           "spec": record.spec, "files": state,
                                           "caution": run_caution_dict(store.home, record)}
        payload |= placement_fields(store, record.id)
        if args.json:
            emit_json(payload)
            return 0
        for key, value in payload.items():
            if key not in ("epochs", "config", "spec", "metrics", "run_id", "files", "caution", "placement"):
                print(f"{key:<12} {'' if value is None else value}")
        if state["state"] != "none":
            print(f"{'files':<12} {_files_line(state, record.id)}")
        for key, value in payload["metrics"].items():
            print(f"  {key:<18} {'undefined' if value is None else f'{value:.4g}'}")
        if payload["caution"]:
            print(f"caution: {payload['caution']['message']}")
        return 0
    from core.runs.naming import display_name

    records = store.list(status=args.status)
    if args.json:
        emit_json({"runs": [_record_dict(r) for r in records]})
        return 0
    if not records:
        print("no runs yet; train one with `python -m core train FILE --target COLUMN`")
    for r in records:
        auc = (r.metrics or {}).get("roc_auc")
        auc_text = f"AUC {auc:.3f}" if isinstance(auc, float) and math.isfinite(auc) else ""
        print(f"{r.id}  {r.status:<9} {r.device or '':<10} {auc_text:<9}  {display_name(r)}  {r.error or ''}")
    return 0


def _cmd_cancel(args: argparse.Namespace) -> int:
    from core import jobs
    from core.runs import RunStore

    store = RunStore(settings_home())
    record = store.get(args.run_id)
    if record.is_finished:
        raise RunNotFoundError(f"Run {args.run_id} already finished ({record.status}); there is nothing to cancel.")
    jobs.cancel(store, args.run_id)
    print(f"cancel requested for {args.run_id}; status now {store.get(args.run_id).status}")
    return 0


def register(sub) -> None:
    runs = sub.add_parser("runs", parents=[json_flag()], help="list runs, or show one")
    runs.add_argument("run_id", nargs="?")
    runs.add_argument("--rename", metavar="NAME", help="give the run a display name (empty: back to the built one)")
    runs.add_argument("--status", choices=[str(s) for s in RunStatus])
    runs.set_defaults(func=_cmd_runs)

    cancel = sub.add_parser("cancel", help="ask a queued or running run to stop")
    cancel.add_argument("run_id")
    cancel.set_defaults(func=_cmd_cancel)
