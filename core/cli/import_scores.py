"""``import FILE --label COL --score COL``: audit a model trained elsewhere; its scores become an "import" run."""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, read_file_bytes, settings_home


def _cmd_import(args: argparse.Namespace) -> int:
    from core.fairness import import_scores
    from core.runs import RunStore

    data, name = read_file_bytes(args.file)
    run_id, rows = import_scores(RunStore(settings_home()), data, name, label=args.label, score=args.score,
                                 decision=args.decision, positive=args.positive, sensitive=args.sensitive or (),
                                 features=args.features, threshold=args.threshold)
    if args.json:
        emit_json({"run_id": run_id, "rows": rows})
    else:
        print(f"imported {rows:,} rows as run {run_id}")
    return 0


def register(sub) -> None:
    parser = sub.add_parser("import", parents=[json_flag()],
                            help="store a table of labels and outside model scores as a run to evaluate and audit")
    parser.add_argument("file")
    parser.add_argument("--label", required=True, help="column with the true class")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--score", help="column with the probability of the positive class, in [0, 1]")
    which.add_argument("--decision", help="column with 0/1 decisions (score views are then disabled)")
    parser.add_argument("--positive", help="positive class of the label (default: 1, else the rarest)")
    parser.add_argument("--sensitive", action="extend", nargs="+", default=None, metavar="COL")
    parser.add_argument("--features", action="extend", nargs="+", default=None, metavar="COL",
                        help="feature columns kept with the run (default: every other column)")
    parser.add_argument("--threshold", type=float, default=0.5, help="score at or above which a row is positive")
    parser.set_defaults(func=_cmd_import)
