"""``check RUN_ID --min-auc X ...``: the CI gate. One line per threshold; exit 0 all pass, 1 any fails, 2 bad input.

A threshold whose analysis has not been run is listed as NOT RUN with the command to run it; it never passes.
The exit code is 1 when any check fails, else 2 when any could not be evaluated (the pipeline must compute it
first), else 0. ``--junit FILE`` writes the same checks as JUnit XML, which CI systems show natively.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from xml.etree import ElementTree as ET

from core.cli._common import LazyChoices, emit_json, json_flag, settings_home
from core.errors import ReportError, WorkspaceError

NO_THRESHOLDS = ("no threshold given; pass at least one of --min-auc, --max-dpd, --max-epsilon, "
                 "--max-attack-auc, --max-empirical-epsilon.")


def junit_xml(run_id: str, checks) -> bytes:
    """A ``<testsuite>`` with one ``<testcase>`` per check; failures carry the sentence, not-run ones are errors."""
    failures = sum(1 for c in checks if not c.passed and c.status != "not run")
    errors = sum(1 for c in checks if c.status == "not run")
    suite = ET.Element("testsuite", name=f"riskboard check {run_id}", tests=str(len(checks)),
                       failures=str(failures), errors=str(errors), skipped="0")
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname=f"riskboard.{run_id}", name=check.name)
        ET.SubElement(case, "system-out").text = check.line()
        if check.status == "not run":
            ET.SubElement(case, "error", message=check.sentence, type="not run").text = check.sentence
        elif not check.passed:
            ET.SubElement(case, "failure", message=check.sentence, type=check.status).text = check.line()
    ET.indent(suite)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def _show(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"


def class_summary(evaluation: dict) -> dict | None:
    """For 3+ classes: each class's one-vs-rest ROC AUC and F1, the macro averages and the class with the lowest
    AUC (the checks judge one class; this says how the others fare)."""
    rows = evaluation.get("per_class") or []
    if len(rows) <= 2:
        return None
    known = [r for r in rows if isinstance(r.get("roc_auc"), int | float) and r["roc_auc"] == r["roc_auc"]]
    worst = min(known, key=lambda r: r["roc_auc"])["class"] if known else None
    return {"per_class": [{"class": r["class"], "roc_auc": r.get("roc_auc"), "f1": r.get("f1")} for r in rows],
            "macro": dict((evaluation.get("averages") or {}).get("macro") or {}), "worst": worst}


def _cmd_check(args: argparse.Namespace) -> int:
    from core.report import ReportSettings, Thresholds, evaluate_checks, gather_inputs
    from core.runs import RunStore
    from core.storage import atomic_write_bytes

    store = RunStore(settings_home())
    sensitive = args.sensitive
    if args.max_dpd is not None and not sensitive:  # as the report's defaults: the run's first sensitive column
        from core.fairness import run_sensitive_columns

        sensitive = run_sensitive_columns(store, args.run_id)[0]
    thresholds = Thresholds(min_auc=args.min_auc, max_disparity=args.max_dpd, sensitive=sensitive,
                            disparity_metric=args.disparity_metric, max_epsilon=args.max_epsilon,
                            max_attack_auc=args.max_attack_auc,
                            max_empirical_epsilon=args.max_empirical_epsilon).validate()
    if not thresholds.any_set:
        raise ReportError(NO_THRESHOLDS)
    inputs = gather_inputs(store, args.run_id, settings=ReportSettings(thresholds=thresholds), with_data=False,
                           class_name=args.class_name)
    if thresholds.max_disparity is not None and thresholds.sensitive not in inputs.sensitive:
        choices = ", ".join(map(repr, inputs.sensitive)) or "none (the spec names no sensitive column)"
        raise ReportError(f"{thresholds.sensitive!r} is not a sensitive column of run {args.run_id}; its sensitive "
                          f"columns are: {choices}.")
    checks = evaluate_checks(inputs, thresholds)
    code = 1 if any(not c.passed and c.status != "not run" for c in checks) else (
        2 if any(c.status == "not run" for c in checks) else 0)
    if args.junit:
        try:
            atomic_write_bytes(Path(args.junit).resolve(), junit_xml(args.run_id, checks))
        except WorkspaceError:
            raise ReportError(f"cannot write the JUnit file {args.junit!r}; pick a path you can write.") from None
    others = class_summary(inputs.evaluation or {})
    if args.json:
        emit_json({"run_id": args.run_id, "class": inputs.run.get("class"), "passed": code == 0, "exit_code": code,
                   "checks": [{**c.to_dict(), "value": None if c.value is not None and math.isinf(c.value)
                               else c.value} for c in checks]} | ({"classes": others} if others else {}))
    else:
        for check in checks:
            print(check.line())
        if others:
            print(f"checked class {inputs.run.get('class')!r} against the rest; every class: "
                  + ", ".join(f"{r['class']!r} ROC AUC {_show(r['roc_auc'])}" for r in others["per_class"])
                  + f"; macro ROC AUC {_show(others['macro']['roc_auc'])}, worst {others['worst']!r}")
        print({0: "all checks pass", 1: "some checks FAIL", 2: "some checks could not be evaluated"}[code])
    return code


def register(sub) -> None:
    check = sub.add_parser("check", parents=[json_flag()], help="CI gate: check a run against risk thresholds",
                           description="Check a finished run against risk thresholds, one line per check. Exit 0 "
                                       "when all pass, 1 when any fails, 2 on bad input or a check whose analysis "
                                       "has not been run. A disparity passes only when its whole 95% interval is "
                                       "within the limit.")
    check.add_argument("run_id", help="run id (see `python -m core runs`)")
    check.add_argument("--min-auc", type=float, help="minimum test ROC AUC")
    check.add_argument("--max-dpd", type=float, help="maximum disparity (default metric: demographic parity "
                                                     "difference) by --sensitive COL")
    check.add_argument("--sensitive", help="the sensitive column the disparity limit applies to (default: the run's "
                                           "first sensitive column)")
    check.add_argument("--disparity-metric", metavar="METRIC", choices=LazyChoices("core.report", "DISPARITY_METRICS"),
                       default="demographic_parity_difference", help="the disparity --max-dpd limits: %(choices)s")
    check.add_argument("--max-epsilon", type=float, help="maximum privacy budget epsilon (non-private runs fail)")
    check.add_argument("--max-attack-auc", type=float, help="maximum membership-attack ROC AUC")
    check.add_argument("--max-empirical-epsilon", type=float, help="maximum empirical epsilon from the audit")
    check.add_argument("--junit", help="also write the checks as JUnit XML to this file")
    check.add_argument("--class", dest="class_name", metavar="C",
                       help="the class the checks judge (one-vs-rest; default the run's positive class); the "
                            "others are summarised")
    check.set_defaults(func=_cmd_check)
