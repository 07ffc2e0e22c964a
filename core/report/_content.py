"""The report's content as one JSON-ready dict: the single source the HTML, Markdown and JSON formats render.

Keeping one content object means the three formats say the same thing, and the JSON format is exactly what a
dashboard or a CI job reads. Sections whose analysis has not been run carry ``status: "not run"``, a sentence and
the command that runs it; views that need the model say so for imported runs (``status: "not applicable"``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from core.jsonsafe import finite
from core.report._adapters import command_for
from core.report._inputs import ReportInputs
from core.report._settings import TEXT_LABELS
from core.report._verdict import auc_interval, class_totals, evaluate_checks, overall
from core.runs import RunKind

FORMAT = "riskboard.report"
VERSION = 1
DONE, NOT_RUN, NOT_APPLICABLE = "done", "not run", "not applicable"
METRIC_NAMES = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC (average precision)", "accuracy": "Accuracy",
                "balanced_accuracy": "Balanced accuracy", "precision": "Precision", "recall": "Recall", "f1": "F1",
                "log_loss": "Log-loss", "brier": "Brier score"}
NEEDS_MODEL = ("This run was imported from scores of a model trained elsewhere; {what} needs the model itself, so "
               "it cannot be shown for this run.")


def _title(inputs: ReportInputs) -> str:
    what = f"{inputs.data['target']} = {inputs.data['positive_class']}"
    name = inputs.run.get("name")
    return f"Model card: {what} · {name}" if name else f"Model card: {what}"


def _performance(inputs: ReportInputs) -> dict[str, Any]:
    evaluation = inputs.evaluation or {}
    metrics = evaluation.get("metrics") or {}
    positives, negatives = class_totals(evaluation)
    auc = metrics.get("roc_auc")
    interval = auc_interval(float(auc), positives, negatives) if isinstance(auc, int | float) else None
    return {"metrics": {k: metrics.get(k) for k in METRIC_NAMES if k in metrics},
            "roc_auc_interval": list(interval) if interval else None, "test_rows": positives + negatives,
            "positives": positives, "negatives": negatives, "threshold": evaluation.get("threshold"),
            "positive_class": evaluation.get("positive_name"), "notes": list(evaluation.get("notes") or []),
            "classes": list(evaluation.get("class_names") or []),
            "per_class": [dict(row) for row in evaluation.get("per_class") or []],
            "averages": {k: dict(v) for k, v in (evaluation.get("averages") or {}).items()}}


def _explanations(inputs: ReportInputs) -> dict[str, Any]:
    if inputs.imported:
        return {"status": NOT_APPLICABLE, "message": NEEDS_MODEL.format(what="an explanation")}
    if inputs.explanation is None:
        return {"status": NOT_RUN, "message": "Explanations have not been computed for this run yet."}
    result = inputs.explanation
    return {"status": DONE, "result": result,
            "message": f"SHAP values ({result.get('method')}) for {result.get('rows'):,} test rows against "
                       f"{result.get('background'):,} background rows; rank intervals over three background draws."}


def _fairness(inputs: ReportInputs) -> dict[str, Any]:
    thresholds = inputs.thresholds
    chosen = {"max_disparity": thresholds.max_disparity, "metric": thresholds.disparity_metric,
              "sensitive": thresholds.sensitive}
    if not inputs.sensitive:
        return {"status": NOT_APPLICABLE, "thresholds": chosen,
                "message": "The dataset spec names no sensitive column, so there are no groups to compare. Add "
                           "sensitive columns on the Data page and retrain to audit fairness."}
    if not inputs.fairness:
        return {"status": NOT_RUN, "thresholds": chosen,
                "message": "Fairness has not been computed for this run yet."}
    return {"status": DONE, "results": inputs.fairness, "thresholds": chosen,
            "message": "Per-group rates on the test rows with 95% bootstrap intervals; groups too small to rank are "
                       "flagged and left out of the disparities."}


def _privacy(inputs: ReportInputs) -> dict[str, Any]:
    training = dict(inputs.privacy or {})
    if inputs.imported:
        training["message"] = ("Imported scores: how the model was trained elsewhere, and with what privacy "
                               "protection, is unknown to Riskboard.")
    elif inputs.run.get("kind") == RunKind.UPLOADED:
        training["message"] = ("Uploaded model: how it was trained elsewhere, and with what privacy protection, is "
                               "unknown to Riskboard; only the loss membership attack can be run (the reference "
                               "attack needs retraining).")
    elif training.get("private"):
        training["message"] = (f"Trained with differential privacy (DP-SGD): epsilon {training['epsilon']:.3f}"
                               + (f" at delta {training['delta']:.1e}" if training.get("delta") else "")
                               + ". Smaller epsilon means stronger protection.")
    else:
        training["message"] = ("Trained without differential privacy: there is no formal guarantee at all "
                               "(epsilon is infinity).")
    if inputs.imported:
        audit = {"status": NOT_APPLICABLE, "message": NEEDS_MODEL.format(what="a membership-inference audit")}
    elif (inputs.audit is None and inputs.run.get("kind") == RunKind.UPLOADED
          and not inputs.training.get("members_column")):
        audit = {"status": NOT_APPLICABLE,
                 "message": "The model was imported without a members column, so nobody knows which rows it was "
                            "trained on and no membership audit can be run; import it again with --members COLUMN. "
                            "The reference-model attack cannot be run on an uploaded model: it needs retraining."}
    elif inputs.audit is None and inputs.run.get("kind") == RunKind.UPLOADED:
        command = command_for("audit", inputs.run_id, uploaded=True)
        audit = {"status": NOT_RUN, "command": command,
                 "message": f"No membership-inference audit has been run; run `{command}` (it needs the training "
                            "rows named with --members at import). The reference-model attack cannot be run on an "
                            "uploaded model: it needs retraining."}
    elif inputs.audit is None:
        audit = {"status": NOT_RUN, "message": "No membership-inference audit has been run for this run yet."}
    else:
        result = inputs.audit
        audit = {"status": DONE, "result": result,
                 "message": f"The audit cannot certify an epsilon above {result.get('epsilon_ceiling', math.nan):.2f} "
                            "with this many rows (its ceiling); a lower bound below the ceiling is what it saw."}
    return {"training": training, "audit": audit}


def build_content(inputs: ReportInputs, *, generated_at: datetime | None = None) -> dict[str, Any]:
    """The report as a dict (strict JSON once through :func:`core.jsonsafe.finite`)."""
    checks = evaluate_checks(inputs)
    moment = (generated_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    text = inputs.text.to_dict()
    return finite({
        "format": FORMAT, "version": VERSION, "title": _title(inputs), "generated_at": moment,
        "run": inputs.run,
        "verdict": {"overall": overall(checks), "defaults": inputs.thresholds_are_defaults,
                    "checks": [{k: v for k, v in c.to_dict().items() if k != "command"} for c in checks],
                    "message": None if checks else "No thresholds are set for this dataset; set them on the Report "
                                                   "page."},
        "data": inputs.data,
        "training": inputs.training,
        "performance": _performance(inputs),
        "explanations": _explanations(inputs),
        "fairness": _fairness(inputs),
        "privacy": _privacy(inputs),
        "text": {"fields": text, "labels": dict(TEXT_LABELS)},
        "provenance": dict(inputs.provenance),
        "history": inputs.history,
        "evaluation": inputs.evaluation,
    })
