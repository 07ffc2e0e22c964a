"""``fairness RUN_ID [--sensitive COL]``: the Fairness page's group table, gaps and summary, for scripts and CI."""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, settings_home


def _cmd_fairness(args: argparse.Namespace) -> int:
    from core.fairness import (
        CONTRACT_DISPARITIES,
        run_classes,
        run_fairness,
        run_sensitive_columns,
        slicing_payload,
        worst_classes,
    )
    from core.runs import RunStore
    from core.training.classes import class_index

    store = RunStore(settings_home())
    sensitive = args.sensitive or list(run_sensitive_columns(store, args.run_id))
    reports = run_fairness(store, args.run_id, sensitive, intersect=args.intersect, resamples=args.resamples,
                           seed=args.seed, class_name=args.class_name)
    classes, positive = run_classes(store, args.run_id)
    chosen = classes[class_index(classes, positive, args.class_name)]
    slicings = [slicing_payload(r) for r in reports.values()]
    first = slicings[0]
    payload = {"run_id": args.run_id, "class": chosen, "groups": first["groups"], "disparities": first["disparities"],
               "slicing": first["slicing"], "summary": first["summary"], "slicings": slicings}
    if len(classes) > 2:  # every class one-vs-rest: the class with the largest gap, per disparity
        payload["worst_class"] = worst_classes(store, args.run_id, sensitive, intersect=args.intersect,
                                               resamples=args.resamples, seed=args.seed)
    if args.json:
        emit_json(payload)
        return 0
    if len(classes) > 2:
        print(f"class {chosen!r} against the other {len(classes) - 1} classes (one-vs-rest)")
    for part in slicings:
        print(f"{part['slicing']}: {part['rows']:,} test rows, {part['resamples']:,} resamples")
        print(f"  {'group':<24} {'count':>8} {'selected':>9} {'TPR':>6} {'FPR':>6} {'accuracy':>9}")
        for g in part["groups"]:
            def show(v):
                return "   n/a" if v is None or v != v else f"{v:6.3f}"
            flag = "  not enough data" if g["small"] else ""
            print(f"  {g['group'][:24]:<24} {g['count']:>8,} {show(g['selection_rate']):>9} {show(g['tpr'])} "
                  f"{show(g['fpr'])} {show(g['accuracy']):>9}{flag}")
        for name, d in part["disparities"].items():
            value = "n/a" if d["value"] is None else f"{d['value']:.3f}"
            ci = "" if d["ci"][0] is None else f" (95% interval {d['ci'][0]:.3f}-{d['ci'][1]:.3f})"
            print(f"  {name}: {value}{ci}")
        for line in part["summary"]:
            print(f"  - {line}")
        for name, worst in payload.get("worst_class", {}).get(part["slicing"], {}).items():
            if name in CONTRACT_DISPARITIES:
                print(f"  worst class for {name}: {worst['class']!r} ({worst['value']:.3f})")
    return 0


def register(sub) -> None:
    parser = sub.add_parser("fairness", parents=[json_flag()],
                            help="per-group metrics and disparities with bootstrap intervals for a stored run")
    parser.add_argument("run_id")
    parser.add_argument("--sensitive", action="extend", nargs="+", metavar="COL",
                        help="column(s) to slice by; repeat or list several (default: the run's sensitive columns)")
    parser.add_argument("--intersect", action="store_true", help="slice by the intersection of the columns")
    parser.add_argument("--resamples", type=int, default=None, help="bootstrap resamples (default: setting, 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--class", dest="class_name", metavar="C",
                        help="treat this class as positive, the others as negative (default the run's positive class); "
                             "for 3+ classes the worst class per disparity is listed too")
    parser.set_defaults(func=_cmd_fairness)
