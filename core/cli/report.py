"""``report RUN_ID --out FILE`` and ``verify REPORT``: the Report page's twins.

``verify`` exits 0 when the report matches the workspace, 1 on any mismatch (changed content, another run's
dataset or weights, a run that is not here) and 2 when the file is not a Riskboard report at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli._common import emit_json, json_flag, settings_home
from core.errors import ReportError, WorkspaceError


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    suffix = Path(args.out).suffix.lower()
    return {".md": "md", ".markdown": "md", ".json": "json"}.get(suffix, "html")


def _cmd_report(args: argparse.Namespace) -> int:
    from core.report import build_report
    from core.runs import RunStore
    from core.storage import atomic_write_bytes

    fmt = _format(args)
    report = build_report(RunStore(settings_home()), args.run_id, fmt, class_name=args.class_name)
    out = Path(args.out)
    if out.is_dir():
        raise ReportError(f"{args.out!r} is a folder; give a file name such as card.{fmt}.")
    try:
        atomic_write_bytes(out.resolve(), report.data)
    except WorkspaceError as exc:
        raise ReportError(f"cannot write {args.out!r}: {str(exc).split('(')[-1].split(')')[0]}; pick another "
                          "path.") from None
    verdict = report.content["verdict"]["overall"]
    if args.json:
        emit_json({"run_id": args.run_id, "out": str(out), "format": fmt, "bytes": len(report.data),
                   "content_sha256": report.content_sha256, "verdict": verdict})
        return 0
    print(f"wrote {out} ({fmt}, {len(report.data) / 1024:,.0f} KB); verdict: {verdict}; content SHA-256 "
          f"{report.content_sha256}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from core.report import verify_file
    from core.runs import RunStore

    findings = verify_file(RunStore(settings_home()), args.report)
    ok = all(f.ok for f in findings)
    if args.json:
        emit_json({"report": args.report, "match": ok,
                   "checks": [{"name": f.name, "ok": f.ok, "detail": f.detail} for f in findings]})
    else:
        for finding in findings:
            print(finding.line())
        print("the report matches its run in this workspace" if ok else "the report does NOT match this workspace")
    return 0 if ok else 1


def register(sub) -> None:
    report = sub.add_parser("report", parents=[json_flag()], help="write a run's model card (HTML, Markdown, JSON)",
                            description="Write the stakeholder report of a finished run: one self-contained HTML "
                                        "file (opens offline), Hugging Face-style Markdown, or JSON. Thresholds "
                                        "and free text come from the Report page's saved settings for the dataset.")
    report.add_argument("run_id", help="run id (see `python -m core runs`)")
    report.add_argument("--out", required=True, help="file to write")
    report.add_argument("--class", dest="class_name", metavar="C",
                        help="the class the report covers (one-vs-rest); the others are summarised per class")
    report.add_argument("--format", choices=("html", "md", "json"), default=None,
                        help="default: from the file extension (.md, .json), else html")
    report.set_defaults(func=_cmd_report)

    verify = sub.add_parser("verify", parents=[json_flag()], help="check that a report belongs to a run here",
                            description="Recompute a report's content hash and check its run, dataset and model "
                                        "weights against this workspace. Exit 0 match, 1 mismatch, 2 bad input.")
    verify.add_argument("report", help="a report file written by `report` or the Report page")
    verify.set_defaults(func=_cmd_verify)
