"""``budget``: what a private run would spend (epsilon for a noise level, or the noise for a target), no training.

The Privacy page's calculator and private training use the same functions (:func:`core.dp.plan_budget`).
"""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, warn


def _cmd_budget(args: argparse.Namespace) -> int:
    from core.dp import plan_budget

    plan = plan_budget(rows=args.rows, batch_size=args.batch_size, epochs=args.epochs,
                       noise_multiplier=args.noise_multiplier, target_epsilon=args.epsilon, delta=args.delta,
                       accountant=args.accountant)
    if plan.note:
        warn(plan.note)
    if args.json:
        emit_json({"epsilon": plan.epsilon, "noise_multiplier": plan.noise_multiplier, "delta": plan.delta,
                   "accountant": plan.accountant})
        return 0
    print(f"epsilon {plan.epsilon:.4f} at delta {plan.delta:g} ({plan.accountant} accountant)")
    print(f"noise multiplier {plan.noise_multiplier:.4f}; sampling rate {plan.sample_rate:.5f}; "
          f"{plan.steps_per_epoch} steps an epoch, {plan.steps} in all")
    return 0


def register(sub) -> None:
    budget = sub.add_parser("budget", parents=[json_flag()],
                            help="privacy budget of a planned DP-SGD run (epsilon, or the noise for a target)")
    budget.add_argument("--rows", type=int, required=True, help="training rows")
    budget.add_argument("--batch-size", type=int, required=True, help="expected rows per step")
    budget.add_argument("--epochs", type=int, required=True)
    which = budget.add_mutually_exclusive_group(required=True)
    which.add_argument("--noise-multiplier", type=float, help="noise standard deviation / clipping norm")
    which.add_argument("--epsilon", type=float, help="target epsilon: find the noise it needs")
    budget.add_argument("--delta", type=float, default=None, help="default: a power of ten below 1 / rows")
    budget.add_argument("--accountant", choices=["prv", "rdp"], default="prv")
    budget.set_defaults(func=_cmd_budget)
