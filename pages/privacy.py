"""Privacy page: the budget calculator, the membership-inference audit of a run, per-group leakage, and the
privacy-utility chart over the dataset's runs. Numbers come from ``core.privacy``; this page only lays them out."""

from __future__ import annotations

import streamlit as st

from core import jobs
from core.config import get_settings
from core.dp import HEAT_EPOCHS, HEAT_NOISE, budget_view
from core.errors import ConfigError
from core.figures.privacy import (
    audit_roc_figure,
    budget_heatmap_figure,
    epsilon_curve_figure,
    group_leakage_figure,
    privacy_utility_figure,
)
from core.privacy import (
    DEFAULT_REFERENCE_MODELS,
    audit_progress,
    audit_reading,
    audit_run,
    cached_audit,
    cost_evidence,
    leakage_table,
    submit_audit,
    utility_points,
)
from core.runs import ACTIVE_STATUSES, RunKind, RunStatus
from core.timeleft import format_seconds
from ui import state
from ui.auth import can_edit, viewer_note
from ui.feedback import user_errors
from ui.header import page_header
from ui.loaders import run_store
from ui.router import require_app_router
from ui.run_picker import finished_model_runs, pick_run
from ui.tables import show_table
from ui.text import md_escape
from ui.tiles import metric_tiles

require_app_router()
st.title("Privacy")
page_header("privacy")
st.caption("Plan a differential-privacy budget before training, and audit any trained run for membership leakage: "
           "can an attacker tell whether a person's row was in the training data?")
runs = run_store()


@st.cache_data(show_spinner="Computing the privacy budget…", max_entries=64)
def _plan(rows: int, batch: int, epochs: int, noise: float | None, target: float | None, delta: float | None,
          accountant: str) -> dict:
    return budget_view(rows=rows, batch_size=batch, epochs=epochs, noise_multiplier=noise, target_epsilon=target,
                       delta=delta, accountant=accountant)


BAD_DELTA = "delta must be a number such as 1e-5, or empty for the default; got {text!r}."


def _delta(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(BAD_DELTA.format(text=text[:40])) from None


def calculator() -> None:
    st.header("Budget calculator")
    st.caption("Same accountant code as private training: what a run with these settings would spend. Nothing is "
               "trained.")
    a, b, c = st.columns(3)
    rows = a.number_input("Training rows", 1, 10**9, 22_792, key="calc-rows")
    batch = a.number_input("Batch size (expected rows per step)", 1, 10**7, 1024, key="calc-batch")
    epochs = b.number_input("Epochs", 1, 1000, 10, key="calc-epochs")
    mode = b.radio("Solve for", ["epsilon from noise", "noise for a target epsilon"], key="calc-mode")
    noise = c.number_input("Noise multiplier", 0.05, 1000.0, 1.0, 0.1, key="calc-noise")
    target = c.number_input("Target epsilon", 0.05, 1000.0, 1.0, 0.1, key="calc-target")
    delta_text = a.text_input("Delta (empty: a power of ten below 1 / rows)", "", key="calc-delta")
    accountant = b.selectbox("Accountant", ["prv", "rdp"], key="calc-accountant")
    with user_errors():
        delta = _delta(delta_text)
        solve_noise = mode.startswith("noise")
        out = _plan(int(rows), int(batch), int(epochs), None if solve_noise else float(noise),
                    float(target) if solve_noise else None, delta, accountant)
        plan = out["plan"]
        metric_tiles([("Epsilon", f"{plan['epsilon']:.3f}"), ("Noise multiplier", f"{plan['noise_multiplier']:.3f}"),
                      ("Delta", f"{plan['delta']:.0e}"), ("Accountant used", plan["accountant"].upper())])
        st.caption(md_escape(f"Sampling rate {plan['sample_rate']:.5f} · {plan['steps_per_epoch']} steps an epoch · "
                             f"{plan['steps']} noisy steps in all."))
        if plan["note"]:
            st.info(md_escape(plan["note"]))
        left, right = st.columns(2)
        left.plotly_chart(epsilon_curve_figure(out["epochs"], out["epsilons"],
                                               target=float(target) if solve_noise else None,
                                               title="Epsilon over epochs"), width="stretch", key="calc-curve")
        right.plotly_chart(budget_heatmap_figure(HEAT_NOISE, HEAT_EPOCHS, out["grid"],
                                                 target=float(target) if solve_noise else None),
                           width="stretch", key="calc-heat")
    st.caption("Hyper-parameter tuning on private data spends extra privacy: each run you try leaks a little, so "
               "the budget of the run you keep understates the total.")


def _cost_evidence(points: list[dict]) -> None:
    sentence = cost_evidence(points)
    if sentence is None:
        st.caption("Accuracy cost: no evidence yet. Train this dataset with and without privacy to see it here.")
        return
    st.markdown(md_escape(sentence))


def audit_section() -> None:
    st.header("Membership-inference audit")
    st.caption("Members are the run's training rows, non-members its held-out rows (balanced, never overlapping). "
               "The loss attack is instant; the reference attack (offline LiRA) trains K reference models with the "
               "run's own settings on spare rows in a background job, so it takes a few trainings' time.")
    records = finished_model_runs(runs, kinds=(RunKind.TRAIN, RunKind.UPLOADED))
    if not records:
        st.info("No finished run yet: train one on the Train page, then audit it here.")
        return None
    record = pick_run(records, key="audit-run", label="Run to audit",
                      prefer=(st.session_state.get(state.PRIVACY_RUN), st.session_state.get(state.RUN_ID)))
    run_id = record.id
    st.session_state[state.PRIVACY_RUN] = run_id
    a, b = st.columns(2)
    uploaded = record.is_uploaded_model
    if uploaded:
        st.info("An uploaded model: members are the rows its members column marks as training rows. Only the loss "
                "attack can be run; the reference attack would need retraining the model, which Riskboard cannot "
                "do for a model trained elsewhere.")
    attack = a.radio("Attack", ["loss"] if uploaded else ["reference", "loss"], horizontal=True,
                     key="audit-attack-uploaded" if uploaded else "audit-attack",
                     format_func=lambda x: "Reference models (stronger)" if x == "reference" else "Loss threshold")
    k = b.number_input("Reference models (K)", 1, 16, DEFAULT_REFERENCE_MODELS, key="audit-k",
                       disabled=attack == "loss")
    result = None
    with user_errors():
        result = cached_audit(runs, run_id, attack=attack, reference_models=int(k))
    job = st.session_state.get(state.AUDIT_JOB)
    if result is None and job is None and not can_edit():
        viewer_note("run audits")
    if result is None and job is None and can_edit() and st.button("Run audit", type="primary", key="audit-go"):
        with user_errors():
            if attack == "loss":  # no training involved: well under a second, so no job
                result = audit_run(runs, run_id, attack="loss")
            else:
                st.session_state[state.AUDIT_JOB] = submit_audit(runs, run_id, attack=attack,
                                                                 reference_models=int(k), settings=get_settings())
                st.rerun()
    if st.session_state.get(state.AUDIT_JOB):
        audit_job_panel(st.session_state[state.AUDIT_JOB])
    if result is None:
        st.caption("Not audited with these settings yet.")
        return record
    show_audit(result)
    return record


def job_text(progress) -> str:
    """The progress line of an audit job (tested directly: fragments do not run inside AppTest)."""
    left = f" · about {format_seconds(progress.remaining_s)} left" if progress.remaining_s is not None else ""
    return f"audit {progress.status}: {progress.fraction:.0%} done{left}"


@st.fragment(run_every=1.0)
def audit_job_panel(job_id: str) -> None:
    """Polls the audit job each second; reruns the page once it ends so the cached result shows."""
    with user_errors():
        progress = audit_progress(runs, job_id)
        if progress.status not in ACTIVE_STATUSES:
            st.session_state.pop(state.AUDIT_JOB, None)
            if progress.status != RunStatus.SUCCEEDED:
                st.error(md_escape(f"The audit stopped: {progress.error or progress.status}"))
                return
            st.rerun(scope="app")
        st.progress(progress.fraction, text=job_text(progress))
        st.caption("Training the reference models in the background: you can leave this page and come back.")
        if can_edit() and st.button("Cancel audit", key="audit-cancel"):
            jobs.cancel(runs, job_id)
            st.session_state.pop(state.AUDIT_JOB, None)
            st.rerun(scope="app")


def show_audit(result) -> None:
    for line in audit_reading(result):
        st.markdown(md_escape(line))
    main = result.main
    low, high = main.epsilon_lower_bound_ci
    upper = result.epsilon_upper_bound
    metric_tiles([("Attack AUC", f"{main.auc:.3f}"), ("TPR at 1% FPR", f"{main.tpr_at_fpr['0.01']:.3f}"),
                  ("TPR at 0.1% FPR", f"{main.tpr_at_fpr['0.001']:.3f}"),
                  ("Epsilon lower bound (audit)", f"{main.epsilon_lower_bound:.2f}"),
                  ("Epsilon upper bound (accountant)", "none" if upper is None else f"{upper:.2f}")],
                 help_texts={"Epsilon lower bound (audit)": f"95% Clopper-Pearson interval {low:.2f} to {high:.2f}; "
                             f"ceiling {main.epsilon_ceiling:.2f}"})
    st.caption(md_escape(f"{main.n_members:,} members vs {main.n_nonmembers:,} non-members; the largest epsilon this "
                         f"audit could ever certify is {main.epsilon_ceiling:.2f}. " + " ".join(result.notes)))
    st.plotly_chart(audit_roc_figure(result.reports), width="stretch", key="audit-roc")
    for column, groups in result.by_group.items():
        st.subheader(f"Leakage by {column}")
        st.plotly_chart(group_leakage_figure(groups, column), width="stretch", key=f"audit-group-{column}")
        table, joined = leakage_table(runs, result, column)
        show_table(table)  # full width and wrapping: nine columns read whole at 1024 px
        if joined:
            st.caption("Test rows, accuracy and selection rate by group come from the Fairness page's audit of "
                          "the same run, so leakage and fairness sit side by side.")
    if not result.by_group:
        st.caption("The run's spec names no sensitive column, so there is no per-group audit.")


def utility_section(record) -> None:
    st.header("Privacy vs accuracy")
    if record is None:
        return
    points = []
    with user_errors():
        points = utility_points(runs.list(limit=500), record.dataset_id)
    st.plotly_chart(privacy_utility_figure(points), width="stretch", key="utility")
    _cost_evidence(points)


calculator()
chosen = audit_section()
utility_section(chosen)
