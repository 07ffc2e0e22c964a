"""Fairness page: metrics by group with intervals for a finished run, threshold what-ifs, mitigations, imports."""

from __future__ import annotations

import streamlit as st

from core.errors import RiskboardError
from core.fairness import (
    INTERSECTION_SEP,
    disparity_frame,
    group_frame,
    load_run_scores,
    run_fairness,
    run_groups,
    summarise,
    tradeoff_points,
    worst_class_frame,
    worst_classes,
)
from core.figures.fairness import (
    METRIC_LABELS,
    fairness_accuracy_figure,
    group_bars_figure,
    intersection_heatmap_figure,
)
from core.labels import metric_label
from core.runs.naming import display_name
from core.safety import formula_safe_frame
from ui.class_picker import class_picker
from ui.fairness_view import import_form, mitigation_actions, threshold_tool
from ui.feedback import user_errors
from ui.header import page_header
from ui.loaders import run_store
from ui.model_import_view import model_import_form
from ui.router import require_app_router
from ui.run_picker import finished_model_runs, pick_run
from ui.tables import show_table
from ui.text import md_escape

require_app_router()
st.title("Fairness")
page_header("fairness")
st.caption("How the model's decisions differ between groups on the test set, with 95% bootstrap intervals and group "
           "sizes beside every number; what other thresholds would change; and mitigations stored as new runs.")

runs = run_store()
records = finished_model_runs(runs)

with st.expander("Audit a model trained elsewhere (import its scores)", expanded=not records):
    imported = import_form()
    if imported:
        records = finished_model_runs(runs)

with st.expander("Audit your own model (upload an ONNX file)", expanded=False):
    uploaded = model_import_form()
    if uploaded:
        records = runs.list(limit=200, status="succeeded")

if not records:
    st.info("No finished run yet: train one on the Train page, or import a model or a table of scores above.")
    st.stop()

record = pick_run(records, key="fair-run")
run_id = record.id
by_id = {r.id: r for r in records}
spec = record.spec or {}
columns = [s["column"] for s in spec.get("sensitive", [])]
parent = by_id.get(record.parent_id) if record.parent_id else None
st.caption(md_escape(f"Target {spec.get('target')} = {spec.get('positive_class')} · "
                     + ("imported scores" if record.kind == "import" else "trained here")
                     + (f" · mitigated from “{display_name(parent)}”" if parent else "")))
if not columns:
    st.warning("This run's spec names no sensitive column; save a spec with sensitive columns on the Data page and "
               "train again, or import the scores with them.")
    st.stop()

a, b, c = st.columns([3, 1, 2])
sensitive = a.multiselect("Sensitive columns", columns, default=columns[:1], key="fair-sensitive")
intersect = b.checkbox("Intersect them", key="fair-intersect", disabled=len(sensitive) < 2,
                       help="Groups become combinations such as sex × race; many small groups are flagged.")
metric = c.selectbox("Metric", [k for k in METRIC_LABELS if k != "mean_score"], format_func=metric_label,
                     key="fair-metric")
if not sensitive:
    st.info("Pick at least one sensitive column.")
    st.stop()
class_name = class_picker(run_id, "fairness")

reports = {}
with user_errors(), st.spinner("Computing group metrics and bootstrap intervals…"):
    reports = run_fairness(runs, run_id, sensitive, intersect=intersect and len(sensitive) > 1,
                           class_name=class_name)
if class_name is not None and reports:
    with user_errors(), st.spinner("Comparing every class…"):
        worst = worst_classes(runs, run_id, sensitive, intersect=intersect and len(sensitive) > 1)
        st.markdown(f"**Class {md_escape(class_name)} against the rest.** The class with the largest gap, per "
                    "disparity, over every class one-vs-rest:")
        st.dataframe(formula_safe_frame(worst_class_frame(worst)), hide_index=True, width="stretch",
                     key="fair-worst-class")

for slicing, report in reports.items():
    st.subheader(f"By {slicing}")
    for line in summarise(report):
        st.markdown(f"- {md_escape(line)}")
    chosen, label = group_frame(report, (metric,)), metric_label(metric)
    show_table(chosen[[c for c in ("Group", "Rows", "Rank", label, f"{label}: 95% interval", "Note")
                       if c in chosen.columns]])  # the chosen metric, readable at 1024 px; every metric below
    with st.expander(md_escape(f"Every metric by {slicing} (a wide table: scroll it, or download it as CSV)")):
        st.dataframe(formula_safe_frame(group_frame(report)), hide_index=True, width="stretch",
                     key=f"fair-groups-{slicing}")
    if INTERSECTION_SEP in slicing and slicing.count(INTERSECTION_SEP) == 1:  # full width each: readable labels
        st.plotly_chart(intersection_heatmap_figure(report, metric), width="stretch", key=f"fair-heat-{slicing}")
        st.plotly_chart(group_bars_figure(report, metric), width="stretch", key=f"fair-bars-{slicing}")
    else:
        st.plotly_chart(group_bars_figure(report, metric), width="stretch", key=f"fair-bars-{slicing}")
    st.dataframe(formula_safe_frame(disparity_frame(report)), hide_index=True, width="stretch",
                 key=f"fair-gaps-{slicing}")
    st.caption(md_escape(f"{report.rows:,} test rows · {report.resamples:,} bootstrap resamples of each group's "
                         f"confusion counts (seed {report.seed}) · groups under {report.min_group:,} rows or with a "
                         f"selection-rate interval wider than {report.max_ci_width:g} are not ranked · AUC intervals "
                         "by DeLong's method."))

if reports:
    slicing = next(iter(reports))
    st.subheader("Threshold what-if")
    rule = None
    try:
        scores = load_run_scores(runs, run_id, class_name)
        groups = next(iter(run_groups(runs, scores, sensitive, intersect=intersect and len(sensitive) > 1).values()))
        rule = threshold_tool(run_id, scores, groups, slicing)
    except RiskboardError as exc:
        st.error(md_escape(exc))
    st.subheader("Mitigate")
    with user_errors():
        mitigation_actions(run_id, record.kind, sensitive, intersect and len(sensitive) > 1, rule, class_name)
    st.subheader("Fairness and accuracy of every run on this dataset")
    with user_errors():
        points = tradeoff_points(runs, record.dataset_id, sensitive[:1])
        st.plotly_chart(fairness_accuracy_figure(points), width="stretch", key="fair-tradeoff")
