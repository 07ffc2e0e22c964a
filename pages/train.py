"""Train page: pick a saved spec and settings, train in a background job, watch it live, read the evaluation."""

from __future__ import annotations

import streamlit as st

from core import jobs
from core.config import get_settings
from core.data.demo import ensure_demo
from core.device import select_device
from core.errors import RiskboardError
from core.labels import model_label
from core.runs import ACTIVE_STATUSES, MODEL_RUN_KINDS, RunKind, validate_run_id
from core.runs.naming import display_name
from core.safety import formula_safe_frame
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from core.training.progress import runs_table
from ui import state
from ui.auth import can_edit, viewer_note
from ui.caution import leakage_caution_box
from ui.feedback import show_error, user_errors
from ui.header import page_header
from ui.loaders import dataset_store, run_store
from ui.privacy_view import privacy_fields, privacy_options
from ui.router import require_app_router
from ui.run_view import evaluation_panel, live_panel, rename_run
from ui.tables import cell_text, text_width
from ui.text import md_escape

HELP = TrainConfig.help()
NOT_A_MODEL_RUN = ("{run_id} is a job done for a run (a membership audit), not a training run; its results are on the "
                   "Privacy page. Pick a run from the run history.")
DEFAULTS = TrainConfig()
SOLVER_LABELS = {"auto": "auto (exact if logistic)", "lbfgs": "L-BFGS-B (logistic)",
                 "minibatch": "minibatch (optimizer below)"}

require_app_router()
st.title("Train")
page_header("train")
st.caption("Train a classifier on a saved dataset spec. Training runs in the background: you can refresh the page, "
           "open it in another tab, or cancel.")

settings = get_settings()
datasets = dataset_store()
runs = run_store()
with user_errors():
    jobs.refresh(runs, settings)


def _attach(run_id: str) -> None:
    st.session_state[state.RUN_ID] = run_id
    st.query_params[state.RUN_QUERY_PARAM] = run_id


def _attached_run() -> str | None:
    """The run in the URL wins (refresh or a second tab re-attaches to it), then the one this session started.

    Only a session's first view follows the model run training now (never an audit or other job): once the page is
    open, a run someone else starts must not take over this tab, least of all while its own Train click is handled.
    """
    candidate = st.query_params.get(state.RUN_QUERY_PARAM) or st.session_state.get(state.RUN_ID)
    first_view = not st.session_state.get(state.TRAIN_OPENED)
    st.session_state[state.TRAIN_OPENED] = True
    if not candidate:
        training = runs.list(limit=1, status=ACTIVE_STATUSES, kinds=MODEL_RUN_KINDS) if first_view else []
        if not training:
            return None
        candidate = training[0].id
        _attach(candidate)
    try:
        validate_run_id(candidate)
        if not runs.get(candidate).is_model_run:
            raise RiskboardError(NOT_A_MODEL_RUN.format(run_id=candidate))
    except RiskboardError as exc:
        show_error(exc)
        st.query_params.pop(state.RUN_QUERY_PARAM, None)
        st.session_state.pop(state.RUN_ID, None)
        return None
    return candidate


def _settings_form() -> None:
    specs = datasets.list_specs()
    if not specs:
        with user_errors():
            ensure_demo(datasets)
        specs = datasets.list_specs()
    names = {m.id: m.name for m in datasets.list()}
    specs = [s for s in specs if s.dataset_id in names]
    if not specs:
        st.info("No saved dataset spec yet: save one on the Data page first.")
        return
    with user_errors():
        jobs.prewarm(runs, settings)  # a worker imports the engine now, so pressing Train starts at once
    ids = [s.spec_id for s in specs]
    by_id = {s.spec_id: s for s in specs}
    preferred = st.session_state.get(state.SPEC_ID)
    spec_id = st.selectbox(
        "Dataset spec", ids, index=ids.index(preferred) if preferred in ids else 0, key="train-spec",
        format_func=lambda i: f"{by_id[i].name or by_id[i].target} · {len(by_id[i].features)} features")
    spec = by_id[spec_id]

    with st.form("train-settings"):
        c1, c2, c3 = st.columns(3)
        model = c1.radio("Model", ["mlp", "logistic"], index=["mlp", "logistic"].index(DEFAULTS.model),
                         help=HELP["model"], horizontal=True, format_func=model_label)
        hidden = c1.text_input("Hidden layers (MLP)", ", ".join(map(str, DEFAULTS.hidden)), help=HELP["hidden"])
        dropout = c1.number_input("Dropout", 0.0, 0.9, DEFAULTS.dropout, 0.05, help=HELP["dropout"])
        layernorm = c1.checkbox("LayerNorm", DEFAULTS.layernorm, help=HELP["layernorm"])
        epochs = c2.number_input("Epochs (most)", 1, 1000, DEFAULTS.epochs, help=HELP["epochs"])
        batch_size = c2.number_input("Batch size", 1, 1 << 20, DEFAULTS.batch_size, help=HELP["batch_size"])
        optimizer = c2.selectbox("Optimizer", ["adamw", "sgd"], help=HELP["optimizer"])
        learning_rate = c2.number_input("Learning rate", 1e-6, 10.0, DEFAULTS.learning_rate, format="%.5f",
                                        help=HELP["learning_rate"])
        weight_decay = c3.number_input("Weight decay", 0.0, 10.0, DEFAULTS.weight_decay, format="%.5f",
                                       help=HELP["weight_decay"])
        momentum = c3.number_input("Momentum (SGD)", 0.0, 0.99, DEFAULTS.momentum, help=HELP["momentum"])
        patience = c3.number_input("Early-stopping patience", 0, 100, DEFAULTS.early_stopping_patience,
                                   help=HELP["early_stopping_patience"])
        class_weights = c3.selectbox("Class weights", ["none", "balanced"], help=HELP["class_weights"])
        seed = c3.number_input("Seed", 0, 2**31 - 1, DEFAULTS.seed, help=HELP["seed"])
        threshold = c3.slider("Decision threshold", 0.01, 0.99, DEFAULTS.threshold, help=HELP["threshold"])
        d1, d2, d3 = st.columns(3)  # how the weights are found: a row of its own below the others
        solver = d1.selectbox("Solver", list(SOLVER_LABELS), format_func=SOLVER_LABELS.get, help=HELP["solver"],
                              key="train-solver")
        inverse_l2 = d2.number_input("C (logistic, L-BFGS)", 1e-6, 1e12, DEFAULTS.C, format="%.4g", help=HELP["C"],
                                     key="train-C")
        min_steps = d3.number_input("Least optimiser steps", 0, 1_000_000, DEFAULTS.min_steps, help=HELP["min_steps"],
                                    key="train-min-steps")
        dp_values = privacy_fields(st.container())
        submitted = st.form_submit_button("Train", type="primary")
    if not submitted:
        return
    try:
        layers = tuple(int(v) for v in hidden.replace(";", ",").split(",") if v.strip())
    except ValueError:
        st.error("Hidden layers must be whole numbers separated by commas, e.g. 64, 32.")
        return
    dp = privacy_options(dp_values)
    if dp is None:
        return
    config = TrainConfig.from_dict({
        "model": model, "hidden": list(layers), "dropout": float(dropout), "layernorm": bool(layernorm),
        "solver": solver, "C": float(inverse_l2), "min_steps": int(min_steps),
        "epochs": int(epochs), "batch_size": int(batch_size), "optimizer": optimizer,
        "learning_rate": float(learning_rate), "weight_decay": float(weight_decay), "momentum": float(momentum),
        "early_stopping_patience": int(patience), "class_weights": class_weights, "seed": int(seed),
        "threshold": float(threshold)} | dp)  # the privacy choices (and the DP recipe, if ticked) win
    run_id = jobs.submit(runs, kind=RunKind.TRAIN, dataset_id=spec.dataset_id, spec=spec.to_dict(),
                         config=config.to_dict(), task=TASK, settings=settings)
    _attach(run_id)
    st.rerun()  # redraw with the form folded away and the live view of the new run


with user_errors():
    on_ray = jobs.executor_caption()
    if on_ray is not None:
        st.caption(md_escape(on_ray))
    else:
        device = select_device()
        st.caption(md_escape(f"Training device: {device.name} ({device.reason})."))

attached_before = _attached_run()
if can_edit():
    with st.expander("New training run", expanded=attached_before is None):
        try:
            _settings_form()
        except Exception as exc:  # noqa: BLE001 - shown, the page keeps working
            show_error(exc)
else:
    viewer_note("start training runs")

run_id = _attached_run() if attached_before is None else st.session_state.get(state.RUN_ID, attached_before)
if run_id:
    with user_errors():
        record = runs.get(run_id)
        st.subheader(md_escape(display_name(record)))
        st.caption(md_escape(f"Run {run_id} · {record.status}"))
        rename_run(runs, record)
        if record.is_active:
            live_panel(run_id)
        else:
            leakage_caution_box(run_id)
            evaluation_panel(run_id)

st.subheader("Run history")
records = []
with user_errors():
    records = runs.list(limit=200, kinds=MODEL_RUN_KINDS)  # audit jobs live on the Privacy page
if records:
    table = formula_safe_frame(runs_table(records))
    for column in ("roc_auc", "accuracy", "log_loss", "epochs"):  # the text drawn is the text measured: no "%.3f"
        table[column] = [cell_text(v) for v in table[column].tolist()]
    with st.container(key="scroll-run-history"):  # a long history: scroll it sideways, names never cut
        st.dataframe(table, width="stretch", hide_index=True, column_config={
            "name": st.column_config.TextColumn("name", width=text_width(table["name"])),
            "roc_auc": st.column_config.TextColumn("ROC AUC"), "log_loss": st.column_config.TextColumn("log-loss"),
            "run": st.column_config.TextColumn("run id")})
    by_id = {r.id: r for r in records}
    choice = st.selectbox("Open a run", list(by_id), index=None, key="open-run",
                          format_func=lambda i: display_name(by_id[i]),
                          placeholder="pick a run to see its curves and evaluation")
    if choice and choice != run_id:
        _attach(choice)
        st.rerun()
else:
    st.caption("No runs yet.")
