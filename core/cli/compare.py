"""``compare RUN_ID RUN_ID [...]``: the Compare page's twin. Metrics side by side and the Pareto set."""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, settings_home
from core.text import format_number


def _num(value, digits: int = 3) -> str:
    return format_number(value, digits, infinite="inf") or str(value)


def _cmd_compare(args: argparse.Namespace) -> int:
    from core.report import compare_runs
    from core.runs import RunStore

    comparison = compare_runs(RunStore(settings_home()), args.run_ids)
    if args.json:
        emit_json(comparison.to_dict())
        return 0
    print(f"{'run':<24} {'ROC AUC':>8} {'AUC 95% interval':>17} {'accuracy':>8} {'log-loss':>8} {'disparity':>9} "
          f"{'epsilon':>8} {'attack':>7}  frontier")
    for p in comparison.points:
        ci = "–" if not p.auc_interval else f"{p.auc_interval[0]:.3f}-{p.auc_interval[1]:.3f}"
        print(f"{p.run_id:<24} {_num(p.auc):>8} {ci:>17} {_num(p.metrics.get('accuracy')):>8} "
              f"{_num(p.metrics.get('log_loss')):>8} {_num(p.disparity):>9} {_num(p.epsilon, 2):>8} "
              f"{_num(p.attack_auc):>7}  {'*' if p.run_id in comparison.pareto else ''}")
    used = ", ".join(comparison.objectives) or "none"
    print(f"Pareto set (maximise AUC, minimise disparity and epsilon; used: {used}): {', '.join(comparison.pareto)}")
    for note in comparison.notes:
        print(f"note: {note}")
    print(comparison.summary)
    return 0


def register(sub) -> None:
    compare = sub.add_parser("compare", parents=[json_flag()], help="compare runs side by side, with the Pareto set",
                             description="Compare finished runs: test metrics with intervals, disparity, epsilon "
                                         "(non-private runs at infinity) and the Pareto-efficient runs.")
    compare.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="two or more run ids")
    compare.set_defaults(func=_cmd_compare)
