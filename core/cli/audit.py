"""``audit RUN_ID``: membership-inference audit of a run trained here, cached in the run's artifacts."""

from __future__ import annotations

import argparse
import sys

from core.cli._common import emit_json, json_flag, settings_home, warn


def _cmd_audit(args: argparse.Namespace) -> int:
    from core.privacy import audit_run
    from core.runs import RunStore

    store = RunStore(settings_home())

    def progress(fraction: float, message: str) -> None:
        if not args.json:
            print(f"  {fraction:4.0%} {message}", file=sys.stderr)

    result = audit_run(store, args.run_id, attack=args.attack, reference_models=args.reference_models,
                       progress=progress)
    main = result.main
    if main.warning:
        warn(main.warning)
    if args.json:
        emit_json(result.summary())
        return 0
    upper = "none (not a private run)" if result.epsilon_upper_bound is None else f"{result.epsilon_upper_bound:.3f}"
    low, high = main.epsilon_lower_bound_ci
    print(f"run {result.run_id}: {main.attack} attack on {main.n_members:,} members vs {main.n_nonmembers:,} "
          f"non-members")
    print(f"  attack AUC          {main.auc:.4f}")
    print(f"  TPR at 0.1% / 1% FPR {main.tpr_at_fpr['0.001']:.4f} / {main.tpr_at_fpr['0.01']:.4f}")
    print(f"  epsilon lower bound {main.epsilon_lower_bound:.3f} (95% interval {low:.3f} to {high:.3f}; this audit "
          f"cannot certify above {main.epsilon_ceiling:.2f})")
    print(f"  epsilon upper bound {upper}")
    for column, groups in result.by_group.items():
        for group, row in groups.items():
            print(f"  {column}={group}: AUC {row['attack_auc']:.3f}, TPR@1%FPR {row['tpr_at_fpr_0.01']:.3f} "
                  f"({row['n_members']} members, {row['n_nonmembers']} non-members)")
    return 0


def register(sub) -> None:
    audit = sub.add_parser("audit", parents=[json_flag()],
                           help="membership-inference audit of a run: attack AUC and an empirical epsilon bound")
    audit.add_argument("run_id")
    audit.add_argument("--attack", choices=["loss", "reference"], default="reference",
                       help="loss threshold, or offline LiRA with reference models (default)")
    audit.add_argument("--reference-models", type=int, default=4, help="reference models to train (default 4)")
    audit.set_defaults(func=_cmd_audit)
