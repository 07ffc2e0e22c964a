"""``mitigate RUN_ID --method M --constraint C --sensitive COL``: a mitigated run linked to its parent."""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, settings_home

GAP_OF = {"demographic_parity": "demographic_parity_difference", "equalized_odds": "equalized_odds_difference",
          "equal_opportunity": "equal_opportunity_difference"}


def _class_shown(store, run_id: str, class_name: str | None) -> str | None:
    """The class a multiclass run was post-processed for (None for a binary run)."""
    from core.training import artifacts
    from core.training.classes import class_index

    classes, positive = artifacts.load_labels(store.artifacts(run_id))
    return str(classes[class_index(classes, positive, class_name)]) if len(classes) > 2 else None


def _cmd_mitigate(args: argparse.Namespace) -> int:
    from core.errors import TrainingError
    from core.fairness import GROUP_CAVEAT, run_fairness, start_mitigation
    from core.runs import SUCCEEDED, RunStore

    store = RunStore(settings_home())
    run_id = start_mitigation(store, args.run_id, method=args.method, constraint=args.constraint,
                              sensitive=args.sensitive, intersect=args.intersect, variant=args.variant,
                              class_name=args.class_name)
    record = store.get(run_id)
    if record.status != SUCCEEDED:
        raise TrainingError(f"Mitigated run {run_id} {record.status}: {record.error}")
    gap = GAP_OF[args.constraint]
    chosen = args.class_name if args.method == "thresholds" else None  # reweighting covers every class
    before = next(iter(run_fairness(store, args.run_id, args.sensitive, intersect=args.intersect,
                                    class_name=chosen).values()))
    after = next(iter(run_fairness(store, run_id, args.sensitive, intersect=args.intersect,
                                   class_name=chosen).values()))

    def part(report) -> dict:
        d = report.disparities[gap]
        return {"value": d.value, "ci": [d.low, d.high]}

    payload = {"run_id": run_id, "parent_id": args.run_id, "method": args.method, "constraint": args.constraint,
               "class": _class_shown(store, args.run_id, chosen) if args.method == "thresholds" else None,
               "status": record.status, "metrics": dict(record.metrics or {}),
               "disparity": {"name": gap, "before": part(before), "after": part(after)},
               "notes": [GROUP_CAVEAT] if args.method == "thresholds" else []}
    if args.json:
        emit_json(payload)
        return 0
    shown = f", class {payload['class']} vs rest" if payload["class"] is not None else ""
    print(f"run {run_id} ({args.method}, {args.constraint}{shown}) from {args.run_id}: {record.status}")
    for key in ("accuracy", "roc_auc"):
        value = payload["metrics"].get(key)
        if isinstance(value, float):
            print(f"  {key:<10} {value:.4f}")
    for when in ("before", "after"):
        d = payload["disparity"][when]
        shown = "n/a" if d["value"] is None else f"{d['value']:.3f}"
        print(f"  {gap} {when}: {shown}")
    for note in payload["notes"]:
        print(f"  note: {note}")
    return 0


def register(sub) -> None:
    parser = sub.add_parser("mitigate", parents=[json_flag()],
                            help="post-process, reweight or apply reductions to a run; stores a linked new run")
    parser.add_argument("run_id")
    parser.add_argument("--method", choices=["thresholds", "reweight", "reductions"], required=True)
    parser.add_argument("--constraint", choices=list(GAP_OF), required=True)
    parser.add_argument("--sensitive", action="extend", nargs="+", required=True, metavar="COL")
    parser.add_argument("--intersect", action="store_true")
    parser.add_argument("--variant", choices=["deterministic", "randomised"], default="deterministic",
                        help="thresholds only: ThresholdOptimizer's randomised rule or the nearest deterministic one")
    parser.add_argument("--class", dest="class_name", metavar="C",
                        help="multiclass runs, thresholds only: post-process class C against the rest (default: the "
                             "run's positive class); reweighting balances every class; reductions need two classes")
    parser.set_defaults(func=_cmd_mitigate)
