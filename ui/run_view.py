"""How a run looks on the page: the live progress fragment while it trains, the evaluation once it is done."""

from __future__ import annotations

import streamlit as st

from core import jobs
from core.config import get_settings
from core.dp import config_is_private
from core.figures.evaluation import (
    calibration_figure,
    confusion_figure,
    loss_curve_figure,
    per_class_figure,
    pr_figure,
    roc_figure,
    val_metrics_figure,
)
from core.labels import model_label
from core.runs import ACTIVE_STATUSES, CANCELLED, FAILED, MAX_NAME_CHARS, RunStatus
from core.runs.naming import display_name
from core.safety import formula_safe_frame
from core.training import artifacts
from core.training.evaluate import per_class_frame
from core.training.progress import RunProgress, poll_run
from ui.auth import can_edit
from ui.feedback import user_errors
from ui.loaders import run_store
from ui.privacy_view import live_meter, run_summary
from ui.text import md_escape
from ui.tiles import metric_tiles

POLL_SECONDS = 1.0
METRIC_LABELS = {"roc_auc": "ROC AUC", "accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy",
                 "f1": "F1", "pr_auc": "PR AUC", "log_loss": "Log-loss", "brier": "Brier score"}


def render_progress(progress: RunProgress, run_id: str, config: dict | None = None) -> None:
    st.progress(progress.fraction, text=f"{progress.status}: {progress.summary}")
    if progress.history:
        last = progress.history[-1]
        metric_tiles([("Train loss", f"{last.get('train_loss', float('nan')):.4f}"),
                      ("Validation loss", f"{last.get('val_loss', float('nan')):.4f}"),
                      ("Validation accuracy", f"{last.get('val_accuracy', float('nan')):.3f}"),
                      ("Validation AUC", f"{last.get('val_auc', float('nan')):.3f}")])
    private = config_is_private(config)
    left, right, *meter = st.columns([2, 2, 1.4] if private else [1, 1])
    left.plotly_chart(loss_curve_figure(progress.history), width="stretch", key=f"loss-{run_id}")
    right.plotly_chart(val_metrics_figure(progress.history), width="stretch", key=f"valm-{run_id}")
    if meter:
        live_meter(progress.history, config, run_id, meter[0])


@st.fragment(run_every=POLL_SECONDS)
def live_panel(run_id: str) -> None:
    """Polls the run store each second; hands over to a full rerun once the run is no longer active."""
    store = run_store()
    progress = poll_run(store, run_id, settings=get_settings())
    if progress.status not in ACTIVE_STATUSES:
        st.rerun(scope="app")
    if progress.status == RunStatus.QUEUED:
        st.info("Queued: waiting for a free training slot (RISKBOARD_MAX_JOBS).")
    record = store.get(run_id)
    if jobs.read_placement(store, run_id).executor == "ray":
        st.caption(md_escape(where_line(store, run_id, record.device)))
    render_progress(progress, run_id, record.config)
    if can_edit() and st.button("Cancel run", key=f"cancel-{run_id}"):
        with user_errors():
            jobs.cancel(store, run_id)
        st.rerun(scope="app")


def where_line(store, run_id: str, device: str | None) -> str:
    """``device cpu`` for a run trained here (as always); the Ray node, device and workers for one on Ray."""
    placement = jobs.read_placement(store, run_id)
    if placement.executor == "ray":
        return f"ran on {placement.describe()}"
    return f"device {device or '–'}"


def _batch_note(metrics: dict) -> str:
    used = metrics.get("batch_size_used")
    return f" · batch size used {int(used)}" if used else ""


def rename_run(store, record) -> None:
    """Let the user give the run a name of their own (it replaces the built one on every page and in reports)."""
    with st.popover("Rename", icon=":material/edit:"), st.form(f"rename-{record.id}", border=False):
        text = st.text_input("Name shown on every page", value=display_name(record), max_chars=MAX_NAME_CHARS,
                             key=f"run-name-{record.id}",
                             help="Clear it to go back to the built name (model, privacy, mitigation, time).")
        if st.form_submit_button("Save the name"):
            with user_errors():
                store.rename(record.id, text or None)
                st.rerun()


def evaluation_panel(run_id: str) -> None:
    store = run_store()
    record = store.get(run_id)
    history = store.epochs(run_id)
    if record.status == FAILED:
        st.error(md_escape(f"This run failed: {record.error}"))
    elif record.status == CANCELLED:
        st.warning("This run was cancelled; nothing was evaluated.")
    spec = record.spec or {}
    st.caption(md_escape(f"Target {spec.get('target')} = {spec.get('positive_class')} · "
                         f"{model_label((record.config or {}).get('model'))} · "
                         f"{where_line(store, run_id, record.device)} · "
                         f"{len(history)} epochs" + _batch_note(record.metrics or {})))
    if record.status == RunStatus.SUCCEEDED:
        metrics = record.metrics or {}
        metric_tiles((label, "–" if metrics.get(key) is None else f"{metrics[key]:.3f}")
                     for key, label in METRIC_LABELS.items())
    if history:
        left, right = st.columns(2)
        left.plotly_chart(loss_curve_figure(history), width="stretch", key=f"loss-done-{run_id}")
        right.plotly_chart(val_metrics_figure(history), width="stretch", key=f"valm-done-{run_id}")
    if record.status != RunStatus.SUCCEEDED:
        return
    run_summary(store, record)
    with user_errors():
        evaluation = artifacts.load_evaluation(store.artifacts(run_id))
        st.markdown("**Test-set evaluation**")
        a, b = st.columns(2)
        a.plotly_chart(roc_figure(evaluation), width="stretch", key=f"roc-{run_id}")
        b.plotly_chart(pr_figure(evaluation), width="stretch", key=f"pr-{run_id}")
        c, d = st.columns(2)
        c.plotly_chart(calibration_figure(evaluation), width="stretch", key=f"cal-{run_id}")
        d.plotly_chart(confusion_figure(evaluation), width="stretch", key=f"cm-{run_id}")
        if len(evaluation.get("class_names") or []) > 2:
            _per_class(evaluation, run_id)


def _per_class(evaluation: dict, run_id: str) -> None:
    """Every class one-vs-rest and the macro / weighted averages: a multiclass run is not judged by one class."""
    averages = evaluation.get("averages") or {}
    st.markdown("**Every class** (one-vs-rest on the test rows)")
    metric_tiles((f"{kind.capitalize()} {label}", "–" if averages.get(kind, {}).get(key) is None
                  else f"{averages[kind][key]:.3f}")
                 for kind in ("macro", "weighted") for key, label in (("f1", "F1"), ("roc_auc", "ROC AUC")))
    st.dataframe(formula_safe_frame(per_class_frame(evaluation)), hide_index=True, width="stretch",
                 key=f"per-class-{run_id}")
    st.plotly_chart(per_class_figure(evaluation), width="stretch", key=f"per-class-fig-{run_id}")
