"""``explain RUN_ID``: the Explain page's twin. SHAP values for a sample of the run's test rows, cached with the run."""

from __future__ import annotations

import argparse

from core.cli._common import LazyChoices, emit_json, json_flag, settings_home


def _cmd_explain(args: argparse.Namespace) -> int:
    from core.explain import explain_run
    from core.runs import RunStore

    store = RunStore(settings_home())
    result = explain_run(store, args.run_id, rows=args.rows, background=args.background, seed=args.seed,
                         method=args.method, summary="kmeans" if args.kmeans else "sample",
                         class_name=args.class_name)
    body = result.payload(args.run_id)
    if args.json:
        emit_json(body)
        return 0
    error = body["additivity_max_error"]
    print(f"run {args.run_id}: {body['rows']:,} of {result.total_rows:,} test rows explained with {body['method']} "
          f"against {body['background']} training rows (seed {result.seed}) in {body['seconds']:.2f} s")
    print(f"output: {result.output}; attributions add up to the score within "
          f"{'n/a' if error is None else f'{error:.1e}'}")
    if result.note:
        print(f"note: {result.note}")
    print(f"{'rank':>4}  {'range':>7}  {'mean |SHAP|':>11}  feature")
    for position, item in enumerate(body["importance"], start=1):
        low, high = item["rank_interval"]
        print(f"{position:>4}  {f'{low}-{high}':>7}  {item['mean_abs_shap']:>11.4f}  {item['feature']}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("explain", parents=[json_flag()], help="SHAP values for a trained run",
                                   description="Explain a trained run's test rows (SHAP values in log-odds, summed "
                                               "to the original columns, with rank intervals over 3 background "
                                               "draws). Results are cached with the run.")
    parser.add_argument("run_id", help="run id (see `python -m core runs`)")
    parser.add_argument("--rows", type=int, default=1000, help="test rows to explain (default 1000; all if fewer)")
    parser.add_argument("--background", type=int, default=200, help="training rows in the background (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the row sample and background draws")
    parser.add_argument("--method", default="auto", metavar="METHOD",
                        choices=LazyChoices("core.explain", "METHODS"),
                        help="attribution method: %(choices)s (default auto: exact for logistic, DeepLIFT rescale "
                             "for MLP, shap's model-agnostic explainers for other uploaded models)")
    parser.add_argument("--kmeans", action="store_true",
                        help="summarise the training rows by BACKGROUND k-means centres instead of sampling them")
    parser.add_argument("--class", dest="class_name", metavar="C",
                        help="explain this class's score (its logit for 3+ classes); default the positive class")
    parser.set_defaults(func=_cmd_explain)
