"""The model card as one self-contained HTML file: plotly inlined once, no external URL, a print stylesheet.

Every string that came from a user (column names, class and group values, file names, free text) passes
:func:`html.escape`; figures escape their own text (:mod:`core.figures._text`) and plotly writes ``<`` inside its
JSON as ``\\u003c``. Nothing is fetched when the file opens: no script, style, font or image URL.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

import plotly.graph_objects as go

from core.figures.evaluation import calibration_figure, loss_curve_figure, roc_figure
from core.figures.report import disparity_figure, importance_figure
from core.labels import disparity_label, model_label
from core.report._content import DONE, METRIC_NAMES
from core.report._provenance import PLACEHOLDER, VERIFY_NOTE, embedded_json
from core.runs import RunKind
from core.text import format_number

STYLE = """
:root { --ink:#1d2330; --muted:#5b6473; --line:#d9dee7; --pass:#1b7f3b; --attention:#a86400; --fail:#b3261e;
        --bg:#ffffff; --panel:#f6f8fb; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
       background: var(--bg); margin: 0; line-height: 1.5; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.9rem; margin: 0 0 4px; } h2 { font-size: 1.35rem; border-bottom: 2px solid var(--line);
     padding-bottom: 4px; margin-top: 2.2rem; } h3 { font-size: 1.05rem; margin-bottom: 6px; }
.meta, .note { color: var(--muted); font-size: .92rem; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: .93rem; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 12px; color: #fff; font-weight: 600;
         font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; }
.pass { background: var(--pass); } .attention, .not-run, .not-judged { background: var(--attention); }
.fail { background: var(--fail); }
.verdict { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 18px; }
.verdict li { margin: 6px 0; list-style: none; } .verdict ul { padding-left: 0; }
.missing { border-left: 4px solid var(--attention); background: #fff8ec; padding: 8px 12px; }
code { background: var(--panel); padding: 1px 4px; border-radius: 3px; font-size: .88rem; word-break: break-all; }
.figure { break-inside: avoid; page-break-inside: avoid; margin: 10px 0; }
.text-field { white-space: pre-wrap; } footer { margin-top: 2.5rem; font-size: .85rem; color: var(--muted); }
@media print {
  body { font-size: 10.5pt; } main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; } table, .verdict { break-inside: avoid; }
  .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .modebar, .modebar-container { display: none !important; }
  @page { margin: 16mm 14mm; }
}
"""
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["sendDataToCloud"]}


def e(value: object) -> str:
    """Escape anything for HTML text or attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    shown = format_number(value, digits, grouped=True)
    return e(value) if shown is None else shown


def interval(ci: Any, digits: int = 3) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "–"
    return f"{num(ci[0], digits)} to {num(ci[1], digits)}"


def table(headers: Iterable[str], rows: Iterable[Iterable[Any]], numeric: Iterable[int] = ()) -> str:
    """Cells are already-escaped HTML fragments (from :func:`e` / :func:`num`)."""
    numeric = set(numeric)
    head = "".join(f"<th>{h}</th>" for h in headers)
    cell = ('<td class="num">{}</td>', "<td>{}</td>")
    body = "".join("<tr>" + "".join(cell[i not in numeric].format(c) for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def facts(pairs: Iterable[tuple[str, Any]]) -> str:
    return table(["", ""], ((e(k), v) for k, v in pairs))


def figure(fig: go.Figure) -> str:
    return '<div class="figure">' + fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG) + "</div>"


def missing(section: Mapping[str, Any]) -> str:
    return f'<p class="missing">{e(section.get("message"))}</p>'


def badge(status: str) -> str:
    return f'<span class="badge {e(status.replace(" ", "-"))}">{e(status)}</span>'


def _verdict(content: Mapping[str, Any]) -> str:
    verdict = content["verdict"]
    items = "".join(f"<li>{badge(c['status'])} <strong>{e(c['label'])}</strong>: {e(c['sentence'])}</li>"
                    for c in verdict["checks"])
    body = f"<ul>{items}</ul>" if items else f'<p class="note">{e(verdict.get("message"))}</p>'
    return (f'<section id="verdict" class="verdict"><h2>Verdict {badge(verdict["overall"])}</h2>{body}'
            "<p class=\"note\">Pass: within the team's threshold. Attention: within it, but the interval or the "
            "audit's reach leaves doubt, or the analysis has not been run. Fail: outside it.</p></section>")


def _data(content: Mapping[str, Any]) -> str:
    data = content["data"]
    parts = [facts([("Source file", e(data["source"])), ("Rows", num(data["rows"])), ("Columns", num(data["columns"])),
                    ("Target", f"{e(data['target'])} (positive class {e(data['positive_class'])})"),
                    ("Features used", e(", ".join(map(str, data["features"]))))])]
    total = sum(data["class_counts"].values()) or 1
    parts.append("<h3>Target balance</h3>" + table(
        ["Class", "Rows", "Share"], ([e(k), num(v), f"{v / total:.1%}"] for k, v in data["class_counts"].items()),
        numeric=(1, 2)))
    for column, sizes in data["groups"].items():
        parts.append(f"<h3>Group sizes by {e(column)}</h3>" + table(
            ["Group", "Rows"], ([e(k), num(v)] for k, v in sizes.items()), numeric=(1,)))
    if data["warnings"]:
        more = data["warnings_total"] - len(data["warnings"])
        parts.append("<h3>Data warnings</h3><ul>" + "".join(f"<li>{e(w)}</li>" for w in data["warnings"]) +
                     (f"<li>… and {more:,} more</li>" if more > 0 else "") + "</ul>")
    else:
        parts.append('<p class="note">No leakage or quality warnings for the columns this run uses.</p>')
    return '<section id="data"><h2>Data</h2>' + "".join(parts) + "</section>"


def _training(content: Mapping[str, Any]) -> str:
    training = content["training"]
    if training["kind"] == RunKind.IMPORT:
        body = ('<p>This run was <strong>imported</strong>: the scores come from a model trained elsewhere, so '
                "Riskboard has no model, no training rows and no training settings for it.</p>" + facts([
                    ("Scores came from", e(training.get("source"))),
                    (f"{training.get('column_kind', 'score').capitalize()} column", e(training.get("column"))),
                    ("Decision threshold", num(training.get("threshold"))),
                    ("Rows scored", num(training.get("rows")))]))
        return f'<section id="training"><h2>Training set-up: imported scores</h2>{body}</section>'
    if training["kind"] == RunKind.UPLOADED:
        body = ("<p>This run is an <strong>uploaded model</strong> (ONNX) trained elsewhere and run here with "
                f"onnxruntime. {e(training.get('cannot_show'))}</p>" + facts([
                    ("Model file", e(training.get("source"))), ("Model SHA-256", e(training.get("model_sha256"))),
                    ("Inputs", e("; ".join(f"{r['model input']} {r['type']} {r['shape']} <- {r['table columns']}"
                                           for r in training.get("inputs", [])))),
                    ("Training rows named by", e(training.get("members_column") or "none given")),
                    ("Decision threshold", num(training.get("threshold"))),
                    ("Rows evaluated", num(training.get("rows")))]))
        return f'<section id="training"><h2>Training set-up: uploaded model</h2>{body}</section>'
    config = training.get("config") or {}
    privacy = content["privacy"]["training"]
    pairs = [("Model", e(model_label(config.get("model")))), ("Hidden layers", e(config.get("hidden"))),
             ("Device", e(training.get("device"))), ("Seed", num(config.get("seed"))),
             ("Epochs run (best epoch)",
              f"{num(training.get('epochs_run'), 0)} ({num(training.get('best_epoch'), 0)})"),
             ("Batch size used", num(training.get("batch_size_used"), 0)),
             ("Optimizer, learning rate", f"{e(config.get('optimizer'))}, {num(config.get('learning_rate'), 5)}"),
             ("Training / test rows", f"{num(training.get('train_rows'), 0)} / {num(training.get('test_rows'), 0)}"),
             ("Differential privacy", e(privacy.get("message")))]
    settings = table(["Setting", "Value"], ([e(k), e(v)] for k, v in sorted(config.items())))
    return (f'<section id="training"><h2>Training set-up</h2>{facts(pairs)}<details><summary>All training '
            f"settings</summary>{settings}</details></section>")


def _performance(content: Mapping[str, Any]) -> str:
    perf = content["performance"]
    rows = [[e(METRIC_NAMES[k]), num(v)] for k, v in perf["metrics"].items()]
    parts = [f"<p>Measured on {num(perf['test_rows'])} held-out test rows ({num(perf['positives'])} positive, "
             f"{num(perf['negatives'])} negative) at decision threshold {num(perf['threshold'], 2)}. ROC AUC 95% "
             f"interval: {interval(perf['roc_auc_interval'])}.</p>", table(["Metric", "Value"], rows, numeric=(1,))]
    parts += [f'<p class="note">{e(n)}</p>' for n in perf["notes"]]
    if len(perf.get("classes") or []) > 2:
        parts.append(_per_class(perf))
    evaluation = content.get("evaluation") or {}
    parts += [figure(roc_figure(evaluation)), figure(calibration_figure(evaluation))]
    if content.get("history"):
        parts.append(figure(loss_curve_figure(content["history"])))
    return '<section id="performance"><h2>Performance and calibration</h2>' + "".join(parts) + "</section>"


def _per_class(perf: Mapping[str, Any]) -> str:
    """Every class one-vs-rest, and the macro / weighted averages: the classes the report does not cover in full."""
    rows = [[e(r["class"]), num(r["support"]), num(r["precision"]), num(r["recall"]), num(r["f1"]),
             num(r["roc_auc"])] for r in perf["per_class"]]
    rows += [[e(f"{kind} average"), "", num(v.get("precision")), num(v.get("recall")), num(v.get("f1")),
              num(v.get("roc_auc"))] for kind, v in perf["averages"].items()]
    return (f"<h3>Every class</h3><p>This report covers class {e(perf['positive_class'])} against the other "
            f"{len(perf['classes']) - 1}; each class's own scores (one-vs-rest) and their averages:</p>"
            + table(["Class", "Test rows", "Precision", "Recall", "F1", "ROC AUC"], rows, numeric=(1, 2, 3, 4, 5)))


def _explanations(content: Mapping[str, Any]) -> str:
    section = content["explanations"]
    if section["status"] != DONE:
        return f'<section id="explanations"><h2>Explanations</h2>{missing(section)}</section>'
    result = section["result"]
    rows = [[e(i["feature"]), num(i["mean_abs_shap"], 4), f"{i['rank_interval'][0]}–{i['rank_interval'][1]}"]
            for i in result.get("importance", [])]
    error = result.get("additivity_max_error")
    note = ("" if error is None else f" Attributions add up to the model's score within {error:.1e}.")
    by_group = ""
    for column, groups in (result.get("by_group") or {}).items():
        rows_by_group = [[e(g), num(v.get("rows")), e(", ".join(f"{t['feature']} ({t['mean_abs_shap']:.3f})"
                                                                for t in v.get("top", [])))]
                         for g, v in groups.items()]
        by_group += (f"<h3>What the model leans on, by {e(column)}</h3>"
                     + table(["Group", "Rows explained", "Top features (mean |SHAP|)"], rows_by_group, numeric=(1,)))
    return (f'<section id="explanations"><h2>Explanations</h2><p>{e(section["message"])}{e(note)}</p>'
            f"{figure(importance_figure(result))}"
            f"{table(['Feature', 'Mean |SHAP|', 'Rank range'], rows, numeric=(1,))}{by_group}</section>")


def _fairness(content: Mapping[str, Any]) -> str:
    section = content["fairness"]
    chosen = section.get("thresholds") or {}
    limit = chosen.get("max_disparity")
    if section["status"] != DONE:
        return f'<section id="fairness"><h2>Fairness</h2>{missing(section)}</section>'
    parts = [f"<p>{e(section['message'])}</p>"]
    if limit is not None:
        metric = disparity_label(str(chosen.get("metric"))).lower()
        parts.append(f"<p>Team threshold: {e(metric)} by {e(chosen.get('sensitive'))} at most {num(limit)}.</p>")
    for slicing, result in section["results"].items():
        groups = [[e(g["group"]), num(g["count"]), num(g.get("selection_rate")),
                   interval((g.get("intervals") or {}).get("selection_rate")), num(g.get("tpr")),
                   num(g.get("fpr")), num(g.get("accuracy")), "not enough data" if g.get("small") else ""]
                  for g in result.get("groups", [])]
        parts.append(f"<h3>By {e(slicing)}</h3>" + table(
            ["Group", "Test rows", "Selection rate", "95% interval", "TPR", "FPR", "Accuracy", "Flag"], groups,
            numeric=(1, 2, 4, 5, 6)))
        if result.get("summary"):
            parts.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in result["summary"]) + "</ul>")
        gaps = [[e(k.replace("_", " ")), num(v.get("value")), interval(v.get("ci"))]
                for k, v in (result.get("disparities") or {}).items()]
        parts.append(table(["Disparity", "Value", "95% interval"], gaps, numeric=(1,)))
    parts.append(figure(disparity_figure(section["results"], limit=limit)))
    return '<section id="fairness"><h2>Fairness</h2>' + "".join(parts) + "</section>"


def _privacy(content: Mapping[str, Any]) -> str:
    privacy = content["privacy"]
    training, audit = privacy["training"], privacy["audit"]
    parts = [f"<p>{e(training.get('message'))}</p>"]
    if training.get("private"):
        parts.append(facts([("Epsilon", num(training.get("epsilon"))), ("Delta", e(training.get("delta"))),
                            ("Accountant", e(training.get("accountant"))),
                            ("Noise multiplier", num(training.get("noise_multiplier"))),
                            ("Clipping norm", num(training.get("max_grad_norm")))]))
    parts.append("<h3>Membership-inference audit</h3>")
    if audit["status"] != DONE:
        parts.append(missing(audit))
    else:
        result = audit["result"]
        tpr = result.get("tpr_at_fpr") or {}
        parts.append(f"<p>{e(audit['message'])}</p>" + facts([
            ("Attack", e(result.get("attack"))), ("Attack ROC AUC (0.5 = coin flip)", num(result.get("attack_auc"))),
            ("TPR at 0.1% / 1% FPR", f"{num(tpr.get('0.001'))} / {num(tpr.get('0.01'))}"),
            ("Empirical epsilon (lower bound)", f"{num(result.get('epsilon_lower_bound'))} (95% interval "
                                                f"{interval(result.get('epsilon_lower_bound_ci'))})"),
            ("Audit ceiling", num(result.get("epsilon_ceiling"))),
            ("Accountant's epsilon (upper bound)", num(result.get("epsilon_upper_bound")))]))
        for column, groups in (result.get("by_group") or {}).items():
            rows = [[e(g), num(v.get("n_members")), num(v.get("attack_auc")), num(v.get("tpr_at_fpr_0.01")),
                     "not enough data" if v.get("small") else ""] for g, v in groups.items()]
            parts.append(f"<h3>Leakage by {e(column)}</h3>" + table(
                ["Group", "Members audited", "Attack AUC", "TPR at 1% FPR", "Flag"], rows, numeric=(1, 2, 3)))
    return '<section id="privacy"><h2>Privacy</h2>' + "".join(parts) + "</section>"


def _text(content: Mapping[str, Any]) -> str:
    fields, labels = content["text"]["fields"], content["text"]["labels"]
    rows = "".join(f"<h3>{e(labels[k])}</h3><p class=\"text-field\">{e(v) if v else '<em>not filled in</em>'}</p>"
                   for k, v in fields.items())
    return f'<section id="card-text"><h2>Uses, limitations and contact</h2>{rows}</section>'


def _accountability(content: Mapping[str, Any]) -> str:
    acc = content.get("accountability") or {}
    if not acc:
        return ""
    rows = [[e(a["analysis"]), e(a["actor"]), e(a["at"])] for a in acc.get("analyses", [])]
    intact = "intact" if acc.get("log_intact") else "ALTERED: ask the workspace's operator to verify the log"
    pairs = [("Trained by", e(acc.get("trained_by") or "not recorded")),
             ("Trained at", e(acc.get("trained_at") or "–")),
             ("Card exported by", e(acc.get("exported_by"))),
             ("Activity log", e(f"{acc.get('log_entries', 0)} entries, {intact}")),
             ("Log head (entry:hash)", f"<code>{e(acc.get('log_head_seq', 0))}:{e(acc.get('log_head'))}</code>"),
             ("Why the head is printed", "an auditor can check later that no entry up to this one was removed")]
    analyses = table(["Analysis", "Computed by", "At"], rows) if rows else "<p>No analysis recorded in the log.</p>"
    return f'<section id="accountability"><h2>Accountability</h2>{facts(pairs)}{analyses}</section>'


def _footer(content: Mapping[str, Any]) -> str:
    prov = content["provenance"]
    versions = ", ".join(f"{e(k)} {e(v)}" for k, v in prov["versions"].items())
    pairs = [("Run id", f"<code>{e(prov['run_id'])}</code>"),
             ("Dataset SHA-256 (its id)", f"<code>{e(prov['dataset_sha256'])}</code>"),
             ("Model weights SHA-256", f"<code>{e(prov['weights_sha256'] or 'no model (imported scores)')}</code>"),
             ("Test scores SHA-256", f"<code>{e(prov.get('scores_sha256'))}</code>"),
             ("Package versions", versions), ("Report content SHA-256", f"<code>{PLACEHOLDER}</code>"),
             ("Checking this file", e(VERIFY_NOTE))]
    block = embedded_json({**prov, "content_sha256": PLACEHOLDER, "format": "html"})
    return (f'<footer id="reproducibility"><h2>Reproducibility</h2>{facts(pairs)}</footer>'
            f'<script type="application/json" id="riskboard-provenance">{block}</script>')


def render_html(content: Mapping[str, Any], plotly_js: str) -> str:
    """The unsealed document (its hash still the placeholder); ``plotly_js`` is the library, inlined once."""
    run = content["run"]
    kind = RunKind(run.get("kind", RunKind.TRAIN)).label
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{e(content["title"])}</title>'
            f"<style>{STYLE}</style><script>{plotly_js}</script></head><body><main>")
    header = (f'<header><h1>{e(content["title"])}</h1><p class="meta">Run <code>{e(run["id"])}</code> · {e(kind)} · '
              f'report generated {e(content["generated_at"])}</p></header>')
    sections = [_verdict(content), _data(content), _training(content), _performance(content),
                _explanations(content), _fairness(content), _privacy(content), _text(content), _accountability(content),
                _footer(content)]
    return head + header + "".join(sections) + "</main></body></html>"
