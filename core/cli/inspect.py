"""``inspect FILE``: the schema Riskboard infers for a file, before anything is stored."""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, read_file_bytes


def _cmd_inspect(args: argparse.Namespace) -> int:
    from core.data.ingest import read_table
    from core.data.schema import infer_schema

    data, name = read_file_bytes(args.file)
    result = read_table(data, name)
    schema = infer_schema(result.frame)
    warnings = list(result.warnings) + list(schema.warnings)
    if args.json:
        emit_json({
            "rows": schema.rows,
            "columns": [{"name": c.name, "kind": c.kind, "missing": round(float(c.missing), 6), "unique": int(c.unique),
                         "dtype": c.dtype, "examples": list(c.examples), "warnings": list(c.warnings)}
                        for c in schema.columns],
            "warnings": warnings,
        })
        return 0
    print(f"{name}: {schema.rows:,} rows x {len(schema.columns)} columns ({result.format})")
    width = min(40, max((len(c.name) for c in schema.columns), default=4))
    print(f"{'column':<{width}}  {'kind':<11} {'missing':>8} {'unique':>9}  examples")
    for c in schema.columns:
        print(f"{c.name[:width]:<{width}}  {c.kind:<11} {c.missing:>8.1%} {c.unique:>9,}  {', '.join(c.examples[:3])}")
    for warning in warnings:
        print(f"warning: {warning}")
    return 0


def register(sub) -> None:
    inspect = sub.add_parser("inspect", parents=[json_flag()], help="print the schema of a CSV/TSV/Parquet/Excel file")
    inspect.add_argument("file")
    inspect.set_defaults(func=_cmd_inspect)
