"""``datasets list | add FILE | delete --id ID``: the stored datasets (the Data page's twin)."""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, read_file_bytes, settings_home, warn


def _store():
    from core.data.store import DatasetStore

    return DatasetStore()


def _cmd_list(args: argparse.Namespace) -> int:
    metas = _store().list()
    if args.json:
        emit_json({"datasets": [{"id": m.id, "name": m.name, "rows": m.rows, "columns": m.columns,
                                 "uploaded_at": m.uploaded_at} for m in metas]})
        return 0
    if not metas:
        print("no datasets stored yet; add one with `python -m core datasets add FILE`")
    for m in metas:
        print(f"{m.id[:12]}  {m.rows:>9,} x {m.columns:<4} {m.uploaded_at}  {m.name}")
    return 0


def _cmd_add(args: argparse.Namespace) -> int:
    data, name = read_file_bytes(args.file)
    meta = _store().add(data, name)
    payload = {"id": meta.id, "name": meta.name, "rows": meta.rows, "columns": meta.columns, "warnings": meta.warnings}
    if args.json:
        emit_json(payload)
    else:
        print(f"stored {meta.name} as {meta.id[:12]}: {meta.rows:,} rows x {meta.columns} columns")
        for warning in meta.warnings:
            print(f"warning: {warning}")
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    from core.data.erase import erase_dataset

    done = erase_dataset(settings_home(), args.id, with_runs=args.with_runs)
    if args.json:
        emit_json({"deleted": args.id} | ({"runs_deleted": done.runs_deleted} if args.with_runs else {}))
        return 0
    print(f"deleted dataset {args.id[:12]} and its saved specs"
          + (f", and {len(done.runs_deleted)} runs trained on it" if args.with_runs else ""))
    if done.runs_kept:
        warn(f"{len(done.runs_kept)} runs trained on it keep their files (scores, explanations); delete them too "
             "with --with-runs")
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    from core.errors import ErasureError
    from core.security.erasure import leftovers_message

    left = _store().purge()
    if left:
        raise ErasureError(leftovers_message("earlier deletes are done", left, False))
    emit_json({"purged": True}) if args.json else print("nothing left over from earlier deletes")
    return 0


def register(sub) -> None:
    datasets = sub.add_parser("datasets", help="list, add or delete stored datasets")
    actions = datasets.add_subparsers(dest="action", required=True, parser_class=type(datasets))
    listing = actions.add_parser("list", parents=[json_flag()], help="list stored datasets, newest first")
    listing.set_defaults(func=_cmd_list)
    add = actions.add_parser("add", parents=[json_flag()], help="store a CSV/TSV/Parquet/Excel file")
    add.add_argument("file")
    add.set_defaults(func=_cmd_add)
    delete = actions.add_parser("delete", parents=[json_flag()], help="delete a dataset and its saved specs")
    delete.add_argument("--id", required=True, help="dataset id (64 hex characters)")
    delete.add_argument("--with-runs", action="store_true", help="also delete every run trained on it")
    delete.set_defaults(func=_cmd_delete)
    purge = actions.add_parser("purge", parents=[json_flag()], help="remove what earlier deletes left behind")
    purge.set_defaults(func=_cmd_purge)
