"""How the Report page shows a model card: threshold and text editors, the live preview, presentation mode,
download buttons. All numbers come from :mod:`core.report`; this module only lays them out."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.config import get_settings
from core.figures.report import card_figures
from core.labels import model_label
from core.report import DISPARITY_METRICS, EXTENSIONS, MEDIA_TYPES, TEXT_LABELS, CardText, Thresholds, render
from core.runs import RunKind
from core.safety import formula_safe_frame
from core.security import activity
from core.training.evaluate import per_class_frame
from ui import state
from ui.tables import show_table
from ui.text import md_escape

#: The group table's columns, named as in the downloaded card.
GROUP_COLUMNS = {"group": "Group", "count": "Test rows", "selection_rate": "Selection rate", "tpr": "TPR",
                 "fpr": "FPR", "accuracy": "Accuracy", "small": "Flag"}
STATUS_BOX = {"pass": st.success, "attention": st.warning, "not run": st.warning, "fail": st.error}
THRESHOLD_HELP = {
    "min_auc": "Lowest acceptable test ROC AUC (0.5 is guessing, 1 is perfect). Empty: not judged.",
    "max_disparity": "Largest acceptable gap between groups. It passes only when the whole 95% interval is below.",
    "max_epsilon": "Largest acceptable privacy budget. Runs trained without differential privacy have no "
                   "guarantee (epsilon infinity) and fail.",
    "max_attack_auc": "Largest acceptable membership-attack AUC (0.5: the attacker does no better than a coin flip).",
    "max_empirical_epsilon": "Largest acceptable epsilon the membership audit certifies from its attack.",
}


def thresholds_editor(dataset_id: str, sensitive: tuple[str, ...], saved: Thresholds) -> Thresholds:
    """Widgets for the team's thresholds, keyed per dataset so switching datasets shows that dataset's values."""
    tag = dataset_id[:12]
    a, b, c = st.columns(3)
    min_auc = a.number_input("Minimum test AUC", 0.0, 1.0, saved.min_auc, 0.01, key=f"rep-min-auc-{tag}",
                             help=THRESHOLD_HELP["min_auc"], placeholder="not judged")
    max_disparity = b.number_input("Maximum disparity", 0.0, 1.0, saved.max_disparity, 0.01,
                                   key=f"rep-max-dpd-{tag}", help=THRESHOLD_HELP["max_disparity"],
                                   placeholder="not judged")
    metrics = list(DISPARITY_METRICS)
    metric = b.selectbox("Disparity metric", metrics, index=metrics.index(saved.disparity_metric),
                         format_func=lambda m: DISPARITY_METRICS[m], key=f"rep-metric-{tag}")
    column = None
    if sensitive:
        column = b.selectbox("By sensitive column", list(sensitive), key=f"rep-sensitive-{tag}",
                             index=list(sensitive).index(saved.sensitive) if saved.sensitive in sensitive else 0)
    else:
        b.caption("This run's spec names no sensitive column, so no disparity can be judged.")
    max_epsilon = c.number_input("Maximum epsilon", 0.0, 1e6, saved.max_epsilon, 0.5, key=f"rep-max-eps-{tag}",
                                 help=THRESHOLD_HELP["max_epsilon"], placeholder="not judged")
    max_attack = c.number_input("Maximum attack AUC", 0.0, 1.0, saved.max_attack_auc, 0.01,
                                key=f"rep-max-attack-{tag}", help=THRESHOLD_HELP["max_attack_auc"],
                                placeholder="not judged")
    max_empirical = c.number_input("Maximum empirical epsilon", 0.0, 1e6, saved.max_empirical_epsilon, 0.5,
                                   key=f"rep-max-emp-{tag}", help=THRESHOLD_HELP["max_empirical_epsilon"],
                                   placeholder="not judged")
    return Thresholds(min_auc=min_auc, max_disparity=max_disparity if column else None, disparity_metric=metric,
                      sensitive=column, max_epsilon=max_epsilon, max_attack_auc=max_attack,
                      max_empirical_epsilon=max_empirical)


def text_editor(dataset_id: str, saved: CardText) -> CardText:
    tag = dataset_id[:12]
    values = {}
    left, right = st.columns(2)
    for i, (name, label) in enumerate(TEXT_LABELS.items()):
        column = left if i % 2 == 0 else right
        if name in ("owner", "contact"):
            values[name] = column.text_input(label, getattr(saved, name), key=f"rep-{name}-{tag}", max_chars=200)
        else:
            values[name] = column.text_area(label, getattr(saved, name), key=f"rep-{name}-{tag}", max_chars=5000,
                                            height=100)
    return CardText(**values)


VERDICT_WORDS = {"pass": "PASS", "attention": "NEEDS ATTENTION", "fail": "FAIL", "not judged": "NOT JUDGED"}
VERDICT_MEANING = {"pass": "Every check the team set is met.",
                   "attention": "No check fails, but some are not settled yet.",
                   "fail": "At least one check the team set is not met.",
                   "not judged": "No thresholds are set, so nothing is judged."}
#: Our own fixed words and colours only: no run, column or user text ever goes into this HTML.
VERDICT_STYLE = {"pass": ("#1b5e20", "#e8f5e9"), "attention": ("#8a5300", "#fff4e0"), "fail": ("#b71c1c", "#fdecea"),
                 "not judged": ("#37474f", "#eceff1")}
DEFAULTS_NOTE = ("Judged against Riskboard's default thresholds (minimum AUC 0.75, gap in share selected at most 0.10, "
                 "attack AUC at most 0.60): open the thresholds below to set and save your team's own.")


def verdict_banner(overall: str, *, large: bool = False) -> None:
    """The verdict in one coloured word (our own fixed strings only, so static HTML is safe here)."""
    colour, background = VERDICT_STYLE.get(overall, VERDICT_STYLE["not judged"])
    size = "4.5rem" if large else "2rem"
    st.html(f'<div data-testid="verdict-banner" style="background:{background};color:{colour};border-left:10px solid '
            f'{colour};padding:0.4em 0.6em;font-size:{size};font-weight:700;line-height:1.2">Verdict: '
            f'{VERDICT_WORDS.get(overall, "NOT JUDGED")}<div style="font-size:0.4em;font-weight:400;color:#222">'
            f'{VERDICT_MEANING.get(overall, "")}</div></div>')


def show_verdict(content: dict) -> None:
    verdict = content["verdict"]
    verdict_banner(verdict["overall"])
    if verdict.get("defaults"):
        st.caption(DEFAULTS_NOTE)
    for check in verdict["checks"]:
        sentence = md_escape(f"{check['status'].upper()}: {check['sentence']}")
        STATUS_BOX.get(check["status"], st.info)(sentence)
    if not verdict["checks"]:
        st.info(md_escape(verdict.get("message")))


def _metrics_frame(content: dict) -> pd.DataFrame:
    from core.report._content import METRIC_NAMES

    metrics = content["performance"]["metrics"]
    return pd.DataFrame({"metric": [METRIC_NAMES[k] for k in metrics],
                         "value": [None if v is None else float(v) for v in metrics.values()]})


def _missing(section: dict) -> None:
    st.warning(md_escape(section.get("message")))


def show_preview(content: dict) -> None:
    """The report as the page shows it: the same sections as the file, in the same order (the page shows the
    verdict at its top)."""
    data = content["data"]
    st.subheader("Data")
    st.caption(md_escape(f"{data['source']}: {data['rows']:,} rows × {data['columns']} columns; target "
                         f"{data['target']} (positive class {data['positive_class']})."))
    cols = st.columns(1 + len(data["groups"]))
    show_table(pd.DataFrame({"class": list(data["class_counts"]), "rows": list(data["class_counts"].values())}),
               container=cols[0])
    for col, (name, sizes) in zip(cols[1:], data["groups"].items(), strict=True):
        show_table(pd.DataFrame({name: list(sizes), "rows": list(sizes.values())}), container=col)
    for warning in data["warnings"][:8]:
        st.warning(md_escape(warning))
    st.subheader("Training set-up")
    training = content["training"]
    if training["kind"] == RunKind.IMPORT:
        st.info(md_escape(f"Imported scores from {training.get('source')} ({training.get('column_kind')} column "
                          f"{training.get('column')}); no model is held here."))
    elif training["kind"] == RunKind.UPLOADED:
        st.info(md_escape(f"Uploaded model {training.get('source')} (ONNX, SHA-256 {training.get('model_sha256')}). "
                          f"{training.get('cannot_show')}"))
    else:
        config = training.get("config") or {}
        st.caption(md_escape(f"{model_label(config.get('model'))}, seed {config.get('seed')}, device "
                             f"{training.get('device')}, {int(training.get('epochs_run') or 0)} epochs. "
                             f"{content['privacy']['training']['message']}"))
    st.subheader("Performance and calibration")
    show_table(_metrics_frame(content), digits=4)
    perf = content["performance"]
    if len(perf.get("classes") or []) > 2:  # the report covers one class; every class in one table
        st.caption(md_escape(f"This report covers class {perf['positive_class']} against the other "
                             f"{len(perf['classes']) - 1}; every class one-vs-rest:"))
        st.dataframe(formula_safe_frame(per_class_frame({"per_class": perf["per_class"],
                                                         "averages": perf["averages"]})),
                     hide_index=True, key="preview-per-class")
    for name, fig in card_figures(content):
        st.plotly_chart(fig, width="stretch", key=f"preview-{name}")
    for key, title in (("explanations", "Explanations"), ("fairness", "Fairness")):
        section = content[key]
        st.subheader(title)
        if section["status"] != "done":
            _missing(section)
        elif key == "fairness":
            for slicing, result in section["results"].items():
                st.caption(md_escape(f"By {slicing}"))
                show_table(pd.DataFrame([{name: (group.get(key) if key != "small" else
                                                 "not enough data" if group.get("small") else "")
                                           for key, name in GROUP_COLUMNS.items()}
                                          for group in result.get("groups", [])]))
                for line in result.get("summary") or []:
                    st.caption(md_escape(line))
        else:
            show_table(pd.DataFrame([{"Feature": i["feature"], "Mean |SHAP|": i["mean_abs_shap"],
                                      "Rank (95% interval)": f"{i['rank_interval'][0]}–{i['rank_interval'][1]}"}
                                     for i in section["result"].get("importance", [])]), digits=4)
    st.subheader("Privacy")
    st.caption(md_escape(content["privacy"]["training"]["message"]))
    audit = content["privacy"]["audit"]
    if audit["status"] != "done":
        _missing(audit)
    else:
        result = audit["result"]
        st.caption(md_escape(f"Attack AUC {result.get('attack_auc'):.3f}; empirical epsilon at least "
                             f"{result.get('epsilon_lower_bound'):.3f} (audit ceiling "
                             f"{result.get('epsilon_ceiling'):.2f})."))


PROJECTOR_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] {display: none !important;}
[data-testid="stMainBlockContainer"] {max-width: 100% !important; padding-top: 1.5rem !important;}
[data-testid="stMarkdownContainer"] h2 {font-size: 2.6rem; line-height: 1.3; font-weight: 500;}
[data-testid="stMarkdownContainer"] h3 {font-size: 1.9rem; line-height: 1.3; font-weight: 400;}
</style>"""


def _plain_privacy(content: dict) -> str:
    training = content["privacy"]["training"]
    if content["run"].get("kind") == "import":
        return "This model was trained elsewhere, so how well it protects the people in its training data is unknown."
    if training.get("private") and training.get("epsilon") is not None:
        return (f"The model was trained with a formal privacy guarantee: a privacy budget of {training['epsilon']:.2g} "
                "(smaller means the model can reveal less about any one person).")
    return "The model was trained without a formal privacy guarantee: nothing limits what it can reveal about a person."


def slides(content: dict) -> list[tuple[str, str | None, object]]:
    """The projector deck: one idea per screen as ``(kind, sentence, figure)``; the verdict first."""
    deck: list[tuple[str, str | None, object]] = [("verdict", None, None)]
    perf, data = content["performance"], content["data"]
    auc = perf["metrics"].get("roc_auc")
    if auc is not None and not (isinstance(auc, float) and math.isnan(auc)):
        deck.append(("idea", f"Shown one {data['positive_class']} case and one other case at random, the model puts "
                             f"the {data['positive_class']} case first {auc:.0%} of the time (on "
                             f"{perf['test_rows']:,} cases it never saw in training).", None))
    fairness = content["fairness"]
    if fairness["status"] == "done":
        for result in fairness["results"].values():
            for line in (result.get("summary") or [])[:1]:
                deck.append(("idea", line, None))
    deck.append(("idea", _plain_privacy(content), None))
    audit = content["privacy"]["audit"]
    if audit["status"] == "done" and audit["result"].get("attack_auc") is not None:
        score = audit["result"]["attack_auc"]
        how = "no better than a coin flip" if score < 0.55 else "better than a coin flip"
        deck.append(("idea", f"An attacker trying to tell whether a person was in the training data does {how} "
                             f"(score {score:.2f}, where 0.50 is a coin flip).", None))
    deck += [("chart", name, fig) for name, fig in card_figures(content)]
    return deck


def present(content: dict) -> bool:
    """Presentation mode as a projector view: no sidebar or page chrome, one idea per screen in large plain words,
    a coloured verdict first. Returns True when the user asked to leave it."""
    st.html(PROJECTOR_CSS)
    deck = slides(content)
    index = st.session_state.get(state.REPORT_CHART, 0) % len(deck)
    kind, sentence, fig = deck[index]
    if kind == "verdict":
        verdict_banner(content["verdict"]["overall"], large=True)
        for check in content["verdict"]["checks"]:
            mark = {"pass": "✓", "fail": "✗"}.get(check["status"], "•")
            st.markdown(f"### {mark} {md_escape(check['sentence'])}")
    elif kind == "idea":
        st.markdown(f"## {md_escape(sentence)}")
    else:
        fig.update_layout(font={"size": 20}, height=640)
        st.plotly_chart(fig, width="stretch", key=f"present-{index}")
    back, label, forward, leave = st.columns([2, 3, 2, 2])
    if back.button("◀ Previous", key="present-prev", width="stretch", disabled=index == 0):
        st.session_state[state.REPORT_CHART] = index - 1
        st.rerun()
    label.caption(md_escape(f"Screen {index + 1} of {len(deck)}"))
    if forward.button("Next ▶", key="present-next", width="stretch", disabled=index == len(deck) - 1):
        st.session_state[state.REPORT_CHART] = index + 1
        st.rerun()
    return leave.button("Leave presentation", key="present-exit", type="tertiary", width="stretch")


def report_bytes(content: dict, fmt: str) -> bytes:
    """The sealed report file in ``fmt``, exactly the bytes a download button serves (the export is logged)."""
    report = render(content, fmt)
    run_id = str(content["run"]["id"])
    activity.append(get_settings().home, "report_exported", run_id, {"run_id": run_id, "format": fmt,
                                                                     "content_sha256": report.content_sha256})
    return report.data


def download_buttons(content: dict, run_id: str) -> None:
    """One button per format; each file is written only when its button is clicked (the HTML is ~5 MB)."""
    cols = st.columns(3)
    for col, (fmt, label) in zip(cols, (("html", "HTML"), ("md", "Markdown"), ("json", "JSON")), strict=True):
        col.download_button(f"Download {label}", lambda fmt=fmt: report_bytes(content, fmt),
                            file_name=f"model-card-{run_id}{EXTENSIONS[fmt]}", mime=MEDIA_TYPES[fmt],
                            key=f"download-{fmt}", width="stretch", on_click="ignore")
    st.caption("Each file ends with its own SHA-256 and the hashes of the run's dataset and model, so anyone can "
               "confirm it is unchanged and belongs to this run.")


def offer_missing(content: dict, runs, run_id: str, sensitive: tuple[str, ...]) -> None:
    """Buttons that compute an analysis the report lacks, here, with visible progress (never silently).

    Each result is cached with the run exactly as its own page and command cache it, and the report then reads it:
    fairness (seconds), SHAP values for 1,000 test rows (about a second), and the loss-threshold membership audit
    (seconds). The stronger reference-model audit trains models and runs on the Privacy page as a background job.
    """
    imported = content["run"].get("kind") == RunKind.IMPORT
    offers = []
    if content["fairness"]["status"] == "not run" and sensitive:
        offers.append(("fairness", f"Compute fairness by {', '.join(sensitive)}"))
    if content["explanations"]["status"] == "not run" and not imported:
        offers.append(("explain", "Compute explanations (1,000 test rows)"))
    if content["privacy"]["audit"]["status"] == "not run" and not imported:
        offers.append(("audit", "Run the loss-threshold membership audit"))
    if not offers:
        return
    st.caption("Missing from this report (each takes seconds; results are cached with the run):")
    for key, label in offers:  # one per line: whole labels at 1024 px
        if st.button(md_escape(label), key=f"report-compute-{key}"):
            _compute(key, runs, run_id, sensitive)
            st.rerun()


def _compute(key: str, runs, run_id: str, sensitive: tuple[str, ...]) -> None:
    bar = st.progress(0.0, text="Starting…")
    if key == "fairness":
        from core.fairness import run_fairness

        bar.progress(0.1, text="Per-group metrics with 95% bootstrap intervals…")
        run_fairness(runs, run_id, list(sensitive))
    elif key == "explain":
        from core.explain import explain_run

        explain_run(runs, run_id, on_progress=lambda done, total: bar.progress(
            min(done / max(total, 1), 1.0), text=f"Explained {done:,} of {total:,} rows"))
    else:
        from core.privacy import audit_run

        audit_run(runs, run_id, attack="loss",
                  progress=lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message))
    bar.progress(1.0, text="Done")
