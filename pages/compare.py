"""Compare page: two or more runs of a dataset side by side, overlaid curves, and the risk frontier."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.fairness import run_fairness
from core.figures.compare import frontier_figure, overlay_calibration_figure, overlay_loss_figure, overlay_roc_figure
from core.report import compare_runs, load_settings
from core.runs.naming import display_name
from core.text import format_number, plural
from core.training import artifacts
from ui import state
from ui.feedback import user_errors
from ui.header import page_header
from ui.loaders import dataset_store, run_store
from ui.router import require_app_router
from ui.run_picker import finished_model_runs
from ui.tables import show_table
from ui.text import md_escape

KIND_WORDS = {"train": "trained here", "import": "imported scores"}

require_app_router()
st.title("Compare")
page_header("compare")
st.caption("Pick two or more runs of a dataset: their test metrics side by side (with intervals), their curves "
           "overlaid, and the risk frontier of accuracy, fairness and privacy. The thresholds are the ones saved for "
           "the dataset on the Report page.")

runs = run_store()
records = finished_model_runs(runs)
if not records:
    st.info("No finished run yet: train one on the Train page (or import scores) first.")
    st.stop()

names = {m.id: m.name for m in dataset_store().list()}
datasets = list(dict.fromkeys(r.dataset_id for r in records))
preferred = st.session_state.get(state.COMPARE_DATASET)
dataset_id = st.selectbox("Dataset", datasets, index=datasets.index(preferred) if preferred in datasets else 0,
                          key=state.COMPARE_DATASET,
                          format_func=lambda d: f"{names.get(d, 'deleted dataset')} · {d[:12]} · "
                                                f"{plural(sum(r.dataset_id == d for r in records), 'run')}")
of_dataset = [r for r in records if r.dataset_id == dataset_id]
by_id = {r.id: r for r in of_dataset}
chosen = st.multiselect("Runs", list(by_id), default=list(by_id)[:3], key=f"compare-runs-{dataset_id[:12]}",
                        format_func=lambda i: display_name(by_id[i]))
if len(chosen) < 2:
    st.info("Pick at least two runs to compare." if len(of_dataset) > 1 else
            "This dataset has one finished run; train another (or a mitigated or private variant) to compare.")
    st.stop()


def _num(value, digits: int = 3) -> str:
    return format_number(value, digits, infinite="none (no guarantee)") or str(value)


def _ci(interval) -> str:
    return "–" if not interval else f"{_num(interval[0])} to {_num(interval[1])}"


def _offer_fairness(points, sensitive: tuple[str, ...], column: str | None) -> None:
    """A button that computes the missing fairness results, so every run can be placed on the frontier."""
    missing = [p for p in points if p.disparity is None]
    slicing = column or (sensitive[0] if sensitive else None)
    if not missing or slicing is None:
        return
    st.info(md_escape(f"{plural(len(missing), 'run')} have no fairness result yet, so the risk frontier cannot "
                      "place them."))
    if st.button(md_escape(f"Compute fairness by {slicing} for {plural(len(missing), 'run')}"),
                 key="compare-compute-fairness", type="primary"):
        with st.spinner("Computing group metrics and bootstrap intervals…"):
            for p in missing:
                run_fairness(runs, p.run_id, [slicing])
        st.rerun()


def _measures(comparison) -> pd.DataFrame:
    """The runs side by side: one row per measure, one column per run (numbered as in the list and the charts), so
    the table stays as narrow as the number of runs and every value is read whole at 1024 px."""
    rows = {"ROC AUC": [_num(p.auc) for p in comparison.points],
            "AUC 95% interval": [_ci(p.auc_interval) for p in comparison.points],
            "Accuracy": [_num(p.metrics.get("accuracy")) for p in comparison.points],
            "Log-loss": [_num(p.metrics.get("log_loss")) for p in comparison.points],
            "Brier score": [_num(p.metrics.get("brier")) for p in comparison.points],
            "Disparity": [_num(p.disparity) for p in comparison.points],
            "Disparity 95% interval": [_ci(p.disparity_interval) for p in comparison.points],
            "Epsilon": [_num(p.epsilon, 2) for p in comparison.points],
            "Attack AUC": [_num(p.attack_auc) for p in comparison.points],
            "Checks passed": [f"{p.passes} of {len(p.checks)}" if p.checks else "no thresholds"
                              for p in comparison.points],
            "On the frontier": ["yes" if p.run_id in comparison.pareto else "no" for p in comparison.points]}
    return pd.DataFrame([{"Measure": name, **{f"Run {i + 1}": v for i, v in enumerate(values)}}
                         for name, values in rows.items()])


with user_errors():
    thresholds = load_settings(runs.home, dataset_id).thresholds
    comparison = compare_runs(runs, chosen, thresholds)
    (st.success if comparison.best and any(p.passed_all for p in comparison.points) else st.info)(
        md_escape(comparison.summary))
    st.markdown("\n".join(f"{i + 1}. " + md_escape(f"{p.label} ({KIND_WORDS.get(p.kind, p.kind)})")
                           for i, p in enumerate(comparison.points)))
    show_table(_measures(comparison))
    for note in comparison.notes:
        st.caption(md_escape(note))
    _offer_fairness(comparison.points, tuple(s["column"] for s in by_id[chosen[0]].spec.get("sensitive", [])),
                    thresholds.sensitive)
    st.plotly_chart(frontier_figure(comparison.points, comparison.pareto), width="stretch", key="frontier")
    labels = {p.run_id: f"{i + 1}. {p.label}" for i, p in enumerate(comparison.points)}
    evaluations = {labels[i]: artifacts.load_evaluation(runs.artifacts(i)) for i in labels}
    left, right = st.columns(2)
    left.plotly_chart(overlay_roc_figure(evaluations), width="stretch", key="overlay-roc")
    right.plotly_chart(overlay_calibration_figure(evaluations), width="stretch", key="overlay-cal")
    st.plotly_chart(overlay_loss_figure({labels[i]: runs.epochs(i) for i in labels}), width="stretch",
                    key="overlay-loss")
