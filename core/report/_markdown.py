"""The model card as Markdown in the Hugging Face layout: YAML front matter with ``model-index`` results, then the
usual sections (Model Details, Uses, Bias, Risks, and Limitations, Training Details, Evaluation, ...).

User strings are escaped twice over: HTML special characters become entities (model hubs render HTML inside
Markdown) and Markdown's own specials get a backslash, so a column named ``<script>alert(1)</script>`` or
``[x](http://evil)`` is shown as those characters. YAML values are written as JSON strings, which YAML reads as
plain quoted strings whatever they contain.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.labels import model_label
from core.report._content import DONE, METRIC_NAMES
from core.report._provenance import PLACEHOLDER, VERIFY_NOTE, embedded_json
from core.runs import RunKind
from core.text import format_number

_SPECIALS = re.compile(r"([\\`*_{}\[\]|~$])")
_LINE_START = re.compile(r"^(\s*)([#>+\-=])")
_NUMBERED = re.compile(r"^(\s*\d+)\.")


def md(value: object) -> str:
    """User text for Markdown: one line, HTML-escaped, Markdown specials backslash-escaped."""
    text = " ".join(("" if value is None else str(value)).split())
    return _SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def md_block(value: object) -> str:
    """Multi-line free text: each line escaped like :func:`md` (a leading ``#``, ``-`` or ``1.`` too, so a line
    never becomes a heading or a list), paragraphs kept."""
    lines = [_NUMBERED.sub(r"\1\\.", _LINE_START.sub(r"\1\\\2", md(line)))
             for line in str(value or "").splitlines()]
    return "\n".join(lines) or "_Not filled in._"


def _num(value: Any, digits: int = 3) -> str:
    shown = format_number(value, digits)
    return md(value) if shown is None else shown


def _ci(ci: Any) -> str:
    return "–" if not ci or None in ci[:2] else f"{_num(ci[0])} to {_num(ci[1])}"


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    headers = list(headers)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _yaml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _front_matter(content: Mapping[str, Any]) -> str:
    perf, data = content["performance"], content["data"]
    lines = ["---", "library_name: pytorch", "pipeline_tag: tabular-classification",
             "tags:", "- tabular-classification", "- riskboard", "model-index:",
             f"- name: {_yaml(content['title'].removeprefix('Model card: '))}", "  results:",
             "  - task:", "      type: tabular-classification", "      name: Tabular classification",
             "    dataset:", f"      name: {_yaml(data['source'])}", "      type: tabular",
             f"      revision: {_yaml(data['dataset_id'])}", "    metrics:"]
    for key, value in perf["metrics"].items():
        if isinstance(value, int | float) and math.isfinite(value):
            lines += [f"    - type: {key}", f"      value: {round(float(value), 6)}",
                      f"      name: {_yaml('Test ' + METRIC_NAMES[key])}"]
    lines.append("---")
    return "\n".join(lines)


def _verdict(content: Mapping[str, Any]) -> str:
    verdict = content["verdict"]
    lines = [f"## Verdict: {verdict['overall'].upper()}", ""]
    lines += [f"- **{c['status'].upper()}** {md(c['label'])}: {md(c['sentence'])}" for c in verdict["checks"]]
    if not verdict["checks"]:
        lines.append(md(verdict.get("message")))
    return "\n".join(lines)


def _details(content: Mapping[str, Any]) -> str:
    training, run = content["training"], content["run"]
    lines = ["## Model Details", "", "### Model Description", ""]
    if training["kind"] == RunKind.IMPORT:
        lines += [f"Imported scores from {md(training.get('source'))} ({md(training.get('column_kind'))} column "
                  f"{md(training.get('column'))}): a model trained elsewhere; Riskboard holds no model, training rows "
                  "or training settings for it.", ""]
    elif training["kind"] == RunKind.UPLOADED:
        lines += [f"Uploaded model {md(training.get('source'))} (ONNX, SHA-256 `{training.get('model_sha256')}`), "
                  f"trained elsewhere and run here with onnxruntime. {md(training.get('cannot_show'))}", "",
                  _table(["Model input", "Type", "Shape", "Table columns"], (
                      [md(r["model input"]), md(r["type"]), md(r["shape"]), md(r["table columns"])]
                      for r in training.get("inputs", []))), ""]
    else:
        config = training.get("config") or {}
        lines += [f"- **Model type:** {md(model_label(config.get('model')))} (PyTorch), hidden layers "
                  f"{md(config.get('hidden'))}",
                  f"- **Task:** predict {md(content['data']['target'])} = {md(content['data']['positive_class'])}",
                  f"- **Trained on:** {md(training.get('device'))}, seed {_num(config.get('seed'))}", ""]
    lines += [f"- **Run id:** `{run['id']}`", f"- **Owner:** {md(content['text']['fields'].get('owner')) or '–'}"]
    return "\n".join(lines)


def _uses(content: Mapping[str, Any]) -> str:
    fields = content["text"]["fields"]
    return "\n".join(["## Uses", "", "### Direct Use", "", md_block(fields.get("intended_use")), "",
                      "### Out-of-Scope Use", "", md_block(fields.get("out_of_scope"))])


def _risks(content: Mapping[str, Any]) -> str:
    fields, fairness, privacy = content["text"]["fields"], content["fairness"], content["privacy"]
    lines = ["## Bias, Risks, and Limitations", "", md_block(fields.get("limitations")), "", "### Fairness", ""]
    if fairness["status"] != DONE:
        lines.append(md(fairness["message"]))
    else:
        for slicing, result in fairness["results"].items():
            lines += [f"#### By {md(slicing)}", "", _table(
                ["Group", "Test rows", "Selection rate", "TPR", "FPR", "Accuracy", "Flag"],
                ([md(g["group"]), _num(g["count"]), _num(g.get("selection_rate")), _num(g.get("tpr")),
                  _num(g.get("fpr")), _num(g.get("accuracy")), "not enough data" if g.get("small") else ""]
                 for g in result.get("groups", []))), "", _table(
                ["Disparity", "Value", "95% interval"],
                ([md(k.replace("_", " ")), _num(v.get("value")), _ci(v.get("ci"))]
                 for k, v in (result.get("disparities") or {}).items())), ""]
    lines += ["", "### Privacy", "", md(privacy["training"].get("message")), ""]
    audit = privacy["audit"]
    if audit["status"] != DONE:
        lines.append(md(audit["message"]))
    else:
        result = audit["result"]
        lines += [f"- Attack ({md(result.get('attack'))}) ROC AUC: {_num(result.get('attack_auc'))} (0.5 = coin flip)",
                  f"- Empirical epsilon lower bound: {_num(result.get('epsilon_lower_bound'))} "
                  f"(95% interval {_ci(result.get('epsilon_lower_bound_ci'))}); audit ceiling "
                  f"{_num(result.get('epsilon_ceiling'))}",
                  f"- Accountant's epsilon upper bound: {_num(result.get('epsilon_upper_bound'))}"]
    return "\n".join(lines)


def _training(content: Mapping[str, Any]) -> str:
    data, training = content["data"], content["training"]
    total = sum(data["class_counts"].values()) or 1
    lines = ["## Training Details", "", "### Training Data", "",
             f"{md(data['source'])}: {_num(data['rows'])} rows, {_num(data['columns'])} columns; dataset SHA-256 "
             f"`{data['dataset_id']}`.", "", _table(["Class", "Rows", "Share"], (
                 [md(k), _num(v), f"{v / total:.1%}"] for k, v in data["class_counts"].items())), ""]
    for column, sizes in data["groups"].items():
        lines += [f"Group sizes by {md(column)}:", "", _table(["Group", "Rows"], (
            [md(k), _num(v)] for k, v in sizes.items())), ""]
    if data["warnings"]:
        lines += ["Data warnings:", ""] + [f"- {md(w)}" for w in data["warnings"]] + [""]
    if training["kind"] == RunKind.TRAIN:
        config = training.get("config") or {}
        lines += ["### Training Procedure", "", _table(["Setting", "Value"], (
            [md(k), md(v)] for k, v in sorted(config.items()))), "",
            md(content["privacy"]["training"].get("message"))]
    return "\n".join(lines)


def _evaluation(content: Mapping[str, Any]) -> str:
    perf, explanations = content["performance"], content["explanations"]
    lines = ["## Evaluation", "", "### Testing Data, Factors & Metrics", "",
             f"{_num(perf['test_rows'])} held-out test rows ({_num(perf['positives'])} positive); decision threshold "
             f"{_num(perf['threshold'], 2)}; ROC AUC 95% interval {_ci(perf['roc_auc_interval'])}.", "",
             "### Results", "", _table(["Metric", "Value"], (
                 [METRIC_NAMES[k], _num(v)] for k, v in perf["metrics"].items())), ""]
    if len(perf.get("classes") or []) > 2:
        lines += [f"Every class one-vs-rest (this card covers {md(perf['positive_class'])}):", "",
                  _table(["Class", "Test rows", "Precision", "Recall", "F1", "ROC AUC"], (
                      [md(r["class"]), _num(r["support"]), _num(r["precision"]), _num(r["recall"]), _num(r["f1"]),
                       _num(r["roc_auc"])] for r in perf["per_class"])),
                  "", "Averages: " + "; ".join(f"{kind} F1 {_num(v.get('f1'))}, ROC AUC {_num(v.get('roc_auc'))}"
                                               for kind, v in perf["averages"].items()), ""]
    lines += ["### Explanations", ""]
    if explanations["status"] != DONE:
        lines.append(md(explanations["message"]))
    else:
        lines += [md(explanations["message"]), "", _table(["Feature", "Mean abs SHAP", "Rank range"], (
            [md(i["feature"]), _num(i["mean_abs_shap"], 4), f"{i['rank_interval'][0]}–{i['rank_interval'][1]}"]
            for i in explanations["result"].get("importance", [])))]
        for column, groups in (explanations["result"].get("by_group") or {}).items():
            lines += ["", f"By {md(column)}:", "", _table(["Group", "Rows explained", "Top features"], (
                [md(g), _num(v.get("rows")), md(", ".join(f"{t['feature']} ({t['mean_abs_shap']:.3f})"
                                                         for t in v.get("top", [])))] for g, v in groups.items()))]
    return "\n".join(lines)


def _footer(content: Mapping[str, Any]) -> str:
    prov, fields = content["provenance"], content["text"]["fields"]
    versions = ", ".join(f"{md(k)} {md(v)}" for k, v in prov["versions"].items())
    block = embedded_json({**prov, "content_sha256": PLACEHOLDER, "format": "md"})
    return "\n".join([
        "## Model Card Contact", "", md(fields.get("contact")) or "–", "", "## Reproducibility", "",
        f"- Run id: `{prov['run_id']}`", f"- Dataset SHA-256: `{prov['dataset_sha256']}`",
        f"- Model weights SHA-256: `{prov['weights_sha256'] or 'no model (imported scores)'}`",
        f"- Package versions: {versions}", f"- Report content SHA-256: `{PLACEHOLDER}`",
        f"- Checking this file: {VERIFY_NOTE}", "",
        f"<!-- riskboard-provenance {block} -->", ""])


def _head(acc: Mapping[str, Any]) -> str:
    return f"{acc.get('log_head_seq', 0)}:{acc.get('log_head')}"


def _accountability(content: Mapping[str, Any]) -> str:
    acc = content.get("accountability") or {}
    if not acc:
        return ""
    lines = ["## Accountability", "", f"- Trained by: {md(acc.get('trained_by') or 'not recorded')}",
             f"- Card exported by: {md(acc.get('exported_by'))}",
             f"- Activity log: {acc.get('log_entries', 0)} entries, {'intact' if acc.get('log_intact') else 'ALTERED'}"
             f"; head `{_head(acc)}` (an auditor can check later that no entry up to this one was removed)", ""]
    if acc.get("analyses"):
        lines.append(_table(["Analysis", "Computed by", "At"],
                            ([md(a["analysis"]), md(a["actor"]), md(a["at"])] for a in acc["analyses"])))
    return "\n".join(lines)


def render_markdown(content: Mapping[str, Any]) -> str:
    """The unsealed Markdown document (its hash still the placeholder)."""
    title = md(content["title"])
    parts = [_front_matter(content), "", f"# {title}", "", f"Report generated {content['generated_at']}.", "",
             _verdict(content), _details(content), _uses(content), _risks(content), _training(content),
             _evaluation(content), _accountability(content), _footer(content)]
    return "\n\n".join(p.strip("\n") for p in parts) + "\n"
