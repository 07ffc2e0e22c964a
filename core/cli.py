"""Command line: ``python -m core SUBCOMMAND``. Every page action has a twin here that runs the same ``core`` code.

Contract: bad input exits with code 2 and one line starting ``error:`` on stderr, never a traceback; ``--json``
prints exactly one JSON object on stdout. Unexpected failures exit 1 with one ``error: internal error`` line
(set ``RISKBOARD_DEBUG=1`` to see the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from core.errors import InputError, RiskboardError

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that prints usage errors as one ``error:`` line (exit 2), as the contract asks."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def read_file_bytes(path: str) -> tuple[bytes, str]:
    """Read a file the CLI user named, with the same size cap as uploads, before reading it whole."""
    from core.config import get_settings

    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path!r} is not a file; check the path.")
    limit = get_settings().max_upload_bytes
    size = file.stat().st_size
    if size > limit:
        from core.errors import FileTooLargeError

        raise FileTooLargeError(f"{file.name} is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit; raise "
                                "RISKBOARD_MAX_UPLOAD_MB or upload a smaller sample.")
    try:
        return file.read_bytes(), file.name
    except OSError as exc:
        raise InputError(f"Cannot read {path!r}: {exc.strerror}.") from None


def emit_json(payload: dict) -> None:
    print(json.dumps(payload, allow_nan=False, default=str))


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


def _cmd_datasets(args: argparse.Namespace) -> int:
    from core.data.store import DatasetStore

    store = DatasetStore()
    if args.action == "add":
        data, name = read_file_bytes(args.file)
        meta = store.add(data, name)
        payload = {"id": meta.id, "name": meta.name, "rows": meta.rows, "columns": meta.columns,
                   "warnings": meta.warnings}
    elif args.action == "delete":
        store.meta(args.id)
        store.delete(args.id)
        payload = {"deleted": args.id}
    else:
        payload = {"datasets": [{"id": m.id, "name": m.name, "rows": m.rows, "columns": m.columns,
                                 "uploaded_at": m.uploaded_at} for m in store.list()]}
    if args.json:
        emit_json(payload)
    elif args.action == "list":
        if not payload["datasets"]:
            print("no datasets stored yet; add one with `python -m core datasets add FILE`")
        for m in payload["datasets"]:
            print(f"{m['id'][:12]}  {m['rows']:>9,} x {m['columns']:<4} {m['uploaded_at']}  {m['name']}")
    else:
        print(json.dumps(payload, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Riskboard engine: inspect data, train and audit models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inspect = sub.add_parser("inspect", help="print the schema of a CSV/TSV/Parquet/Excel file")
    inspect.add_argument("file")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(func=_cmd_inspect)

    datasets = sub.add_parser("datasets", help="list, add or delete stored datasets")
    datasets.add_argument("action", choices=["list", "add", "delete"])
    datasets.add_argument("file", nargs="?", help="file to add")
    datasets.add_argument("--id", help="dataset id to delete")
    datasets.add_argument("--json", action="store_true")
    datasets.set_defaults(func=_cmd_datasets)

    from core import cli_train

    cli_train.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "datasets":
        if args.action == "add" and not args.file:
            parser.error("datasets add needs a FILE")
        if args.action == "delete" and not args.id:
            parser.error("datasets delete needs --id")
    try:
        return int(args.func(args) or 0)
    except RiskboardError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m core runs | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug, not a user error: one line unless debugging
        if os.environ.get("RISKBOARD_DEBUG"):
            traceback.print_exc()
        print(f"error: internal error ({type(exc).__name__}: {exc}); rerun with RISKBOARD_DEBUG=1 for details",
              file=sys.stderr)
        return 1
