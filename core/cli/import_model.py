"""``import-model MODEL.onnx --data FILE --target T``: audit a model trained elsewhere, uploaded as ONNX.

The model is checked (size, no external data, opsets, standard operators, ``onnx.checker``), its inputs are matched
to the table's columns (names, types, shapes) and it is run with onnxruntime; the run then has every view a run
trained here has, except the reference-model membership attack, which needs retraining.
"""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, read_file_bytes, settings_home


def _cmd_import_model(args: argparse.Namespace) -> int:
    from core.fairness import import_model
    from core.runs import RunStore

    model_bytes, model_name = read_file_bytes(args.model, model=True)
    data, data_name = read_file_bytes(args.data)
    store = RunStore(settings_home())
    run_id, prepared = import_model(store, model_bytes, model_name, data, data_name,
                                    target=args.target, positive=args.positive, features=args.features,
                                    sensitive=args.sensitive or (), members=args.members, threshold=args.threshold)
    model = prepared.model
    evaluated = int((store.get(run_id).metrics or {}).get("test_rows", prepared.rows))
    if args.json:
        emit_json({"run_id": run_id, "rows": prepared.rows, "evaluated_rows": evaluated, "model_sha256": model.sha256,
                   "positive_class": prepared.positive, "features": list(model.mapping.columns),
                   "inputs": model.mapping.rows(), "output": model.output.to_dict(),
                   "fast_path": prepared.fast_path, "members_column": args.members, "notes": list(prepared.notes)})
        return 0
    print(f"imported model {model_name} (sha256 {model.sha256[:12]}) as run {run_id}: {prepared.rows:,} labelled rows, "
          f"{evaluated:,} evaluated")
    for row in model.mapping.rows():
        print(f"  input {row['model input']} {row['type']} {row['shape']} <- {row['table columns']}")
    print(f"  probabilities from output {model.output.name!r}; explanations: "
          + ("exact fast path (" + prepared.fast_path + ")" if prepared.fast_path else "model-agnostic (shap)"))
    for note in prepared.notes:
        print(f"  note: {note}")
    return 0


def register(sub) -> None:
    parser = sub.add_parser("import-model", parents=[json_flag()],
                            help="audit a model trained elsewhere: an ONNX file and a labelled table become a run")
    parser.add_argument("model", help="the model as an .onnx file (never a pickle)")
    parser.add_argument("--data", required=True, help="table with the model's input columns and the true labels")
    parser.add_argument("--target", required=True, help="column with the true class")
    parser.add_argument("--positive", help="positive class of the target (default: 1, else the rarest)")
    parser.add_argument("--features", action="extend", nargs="+", default=None, metavar="COL",
                        help="the columns of the model's single tensor input, in its order (default: every column "
                             "but the target and members; per-column inputs are matched by name)")
    parser.add_argument("--sensitive", action="extend", nargs="+", default=None, metavar="COL")
    parser.add_argument("--members", metavar="COL",
                        help="column saying which rows were in the model's training set (enables the membership audit)")
    parser.add_argument("--threshold", type=float, default=0.5, help="score at or above which a row is positive")
    parser.set_defaults(func=_cmd_import_model)
