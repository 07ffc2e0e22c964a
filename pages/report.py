"""Report page: the team's thresholds and words for a run's model card, a live preview, downloads, presentation mode."""

from __future__ import annotations

import streamlit as st

from core.errors import RiskboardError
from core.report import ReportSettings, build_content, gather_inputs, load_settings, save_settings
from core.runs import validate_run_id
from ui import state
from ui.class_picker import CLASS_KEY, class_picker
from ui.feedback import show_error, user_errors
from ui.header import page_header
from ui.loaders import run_store
from ui.report_view import (
    download_buttons,
    offer_missing,
    present,
    show_preview,
    show_verdict,
    text_editor,
    thresholds_editor,
)
from ui.router import require_app_router
from ui.run_picker import finished_model_runs, pick_run
from ui.text import md_escape

PRESENT_PARAM = "present"

require_app_router()
runs = run_store()
records = finished_model_runs(runs)

presenting = st.query_params.get(PRESENT_PARAM) == "1"  # a projector link opens straight into the deck
if not presenting:
    st.title("Report")
    page_header("report")
    st.caption("The model card of a run: the verdict against your team's thresholds, the data, training, performance, "
               "explanations, fairness and privacy, with a reproducibility footer. Download it as one HTML file that "
               "opens offline, as Markdown (Hugging Face model card) or as JSON.")
if not records:
    st.info("No finished run yet: train one on the Train page (or import scores) first.")
    st.stop()

ids = [r.id for r in records]
by_id = {r.id: r for r in records}
wanted = st.query_params.get(state.RUN_QUERY_PARAM) or st.session_state.get(state.RUN_ID)
if wanted and wanted not in by_id:
    try:
        validate_run_id(wanted)
        runs.get(wanted)
        st.warning(md_escape(f"Run {wanted} has not finished successfully, so it has no report; pick another."))
    except RiskboardError as exc:
        show_error(exc)
    wanted = None
if presenting:  # no knobs on the projector: the run chosen before switching the mode
    run_id = wanted if wanted in ids else ids[0]
else:
    run_id = pick_run(records, key="report-run", prefer=(wanted,)).id
st.query_params[state.RUN_QUERY_PARAM] = run_id
st.session_state[state.RUN_ID] = run_id  # the header and the other pages follow the run the report is about
record = by_id[run_id]
sensitive = tuple(s.get("column") for s in (record.spec or {}).get("sensitive", []))
saved = ReportSettings()
with user_errors():
    saved = load_settings(runs.home, record.dataset_id, sensitive)

settings = saved
verdict_slot = st.container()  # the verdict comes first on the page; the form that shapes it sits below
if not presenting:
    if st.button("Present to stakeholders", key="report-present", icon=":material/co_present:",
                 help="A projector view: no sidebar, the verdict first, one idea per screen in plain words."):
        st.query_params[PRESENT_PARAM] = "1"
        st.session_state[state.REPORT_CHART] = 0
        st.rerun()
    title = "Thresholds (Riskboard's defaults until you save your own) and model-card text" if saved.defaults else (
        "Thresholds and model-card text (saved for this dataset)")
    with st.expander(title, expanded=False):
        thresholds = thresholds_editor(record.dataset_id, sensitive, saved.thresholds)
        text = text_editor(record.dataset_id, saved.text)
        unchanged = thresholds == saved.thresholds
        settings = ReportSettings(thresholds, text, defaults=saved.defaults and unchanged)
        if st.button("Save for this dataset", key="report-save", type="primary"):
            with user_errors():
                save_settings(runs.home, record.dataset_id, settings)
                st.success("Saved: every run of this dataset is now judged by these thresholds, here and on the "
                           "Compare page.")

class_name = st.session_state.get(CLASS_KEY.format(page="report", run_id=run_id)) if presenting else class_picker(
    run_id, "report", help_text="Multiclass run: the report covers this class against the rest (metrics, curves, "
                                "explanations, fairness) and summarises every class in a per-class table.")
content = None
try:
    settings.thresholds.validate()
    content = build_content(gather_inputs(runs, run_id, settings=settings, class_name=class_name))
except Exception as exc:  # noqa: BLE001 - shown; the page keeps working
    show_error(exc)
if content is not None:
    if presenting:
        if present(content):
            del st.query_params[PRESENT_PARAM]
            st.rerun()
    else:
        with verdict_slot:
            show_verdict(content)
        download_buttons(content, run_id)
        with user_errors():
            offer_missing(content, runs, run_id, sensitive)
        st.divider()
        show_preview(content)
