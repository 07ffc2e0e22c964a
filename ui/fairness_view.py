"""Streamlit pieces of the Fairness page: the threshold tool, the mitigation actions and the import form.

Everything here reads widgets, calls ``core.fairness`` and renders its results; no number is computed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.config import get_settings
from core.fairness import (
    DECISIONS_ONLY,
    GROUP_CAVEAT,
    DecisionRule,
    RunScores,
    ThresholdOutcome,
    fit_thresholds,
    import_scores,
    start_mitigation,
)
from core.labels import CONSTRAINTS, disparity_label, strategy_label
from core.runs import OUTSIDE_KINDS
from core.runs.naming import display_name
from ui import state
from ui.auth import can_edit, viewer_note
from ui.feedback import user_errors
from ui.loaders import dataset_store, run_store
from ui.tables import show_table
from ui.text import md_escape

STRATEGY_CHOICES = ("single", "cost", "manual", "demographic_parity", "equal_opportunity", "equalized_odds",
                    "equal_accuracy")
METHOD_WORDS = {"reweight": "Reweight the training rows (Kamiran-Calders)",
                "reductions": "Retrain under a fairness constraint (reductions)"}
MULTICLASS_RULE = ("Multiclass run: the rule moves the thresholds on the probability of class {name} per group; "
                   "a row it selects is predicted {name}, any other row the likeliest remaining class. Pick another "
                   "class above to mitigate that one.")
NO_MULTICLASS_REDUCTIONS = ("Reductions are not offered for a multiclass run: fairlearn's ExponentiatedGradient fits "
                            "binary classifiers. Reweighting balances every class in every group.")
GAPS = ("demographic_parity_difference", "equal_opportunity_difference", "equalized_odds_difference",
        "accuracy_difference")


@st.cache_data(max_entries=32, show_spinner="Fitting thresholds…")
def _outcomes(run_id: str, strategy: str, y: np.ndarray, score: np.ndarray, groups: np.ndarray, threshold: float,
              manual: tuple, fp_cost: float, fn_cost: float, sensitive: tuple, resamples: int) -> list:
    return fit_thresholds(strategy, y, score, groups, threshold=threshold, manual=dict(manual), fp_cost=fp_cost,
                          fn_cost=fn_cost, sensitive=sensitive, resamples=resamples, baseline=threshold)


def _three(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _outcome_view(outcome: ThresholdOutcome, key: str) -> None:
    rule = outcome.rule
    st.markdown(f"**{md_escape(strategy_label(rule.strategy))}**")
    cols = st.columns(3)
    paid = -outcome.accuracy_paid
    cols[0].metric("Accuracy", f"{outcome.accuracy:.3f}",  # no "-0.000" badge when nothing changed
                   None if abs(paid) < 0.0005 else f"{paid:+.3f}",
                   help="The badge is the change against one threshold for everyone.")
    cols[1].metric("Cost per row", f"{outcome.cost:.3f}")
    cols[2].metric("Test rows", f"{outcome.report.rows:,}")
    if rule.thresholds or rule.default is not None:
        limits = {**({"everyone else": rule.default} if rule.default is not None else {}), **rule.thresholds}
        show_table(pd.DataFrame({"Group": list(limits), "Threshold": [_three(v) for v in limits.values()]}))
    if rule.randomised:
        mixes = [{"Group": g, "Threshold 1": _three(m["thresholds"][0]), "Chance 1": _three(m["weights"][0]),
                  "Threshold 2": _three(m["thresholds"][1]), "Chance 2": _three(m["weights"][1])}
                 for g, m in rule.randomised.items()]
        show_table(pd.DataFrame(mixes))
    gaps = [{"Disparity": disparity_label(name), "Value": _three(d.value),
             "95% interval": "–" if d.low is None else f"{d.low:.3f} to {d.high:.3f}",
             "Exact on these rows": _three(outcome.expected_gaps.get(name))}
            for name, d in outcome.report.disparities.items() if name in GAPS]
    show_table(pd.DataFrame(gaps))
    for note in outcome.notes:
        if note != GROUP_CAVEAT:  # said once above the outcomes, not once per outcome
            st.caption(md_escape(note))


def threshold_tool(run_id: str, scores: RunScores, groups: pd.Series, slicing: str) -> DecisionRule | None:
    """What-if thresholds on the run's test rows; returns the rule the user picked (or None)."""
    if not scores.has_scores:
        st.info(DECISIONS_ONLY)
        return None
    st.caption("Fitted and measured on the test rows shown above (a what-if: the numbers are optimistic for new "
               "data). Saving a rule as a mitigated run fits it on the validation rows instead, where the run has "
               "them.")
    strategy = st.selectbox("Strategy", STRATEGY_CHOICES, format_func=strategy_label, key="fair-strategy")
    threshold, fp_cost, fn_cost, manual = scores.threshold, 1.0, 1.0, {}
    if strategy == "single":
        threshold = st.slider("Threshold", 0.01, 0.99, float(scores.threshold), 0.01, key="fair-threshold")
    elif strategy == "cost":
        a, b = st.columns(2)
        fp_cost = a.number_input("Cost of a false positive", 0.01, 1000.0, 1.0, key="fair-fp")
        fn_cost = b.number_input("Cost of a false negative", 0.01, 1000.0, 1.0, key="fair-fn")
    elif strategy == "manual":
        names = sorted(pd.unique(groups.astype(str)))
        cols = st.columns(min(len(names), 4) or 1)
        for i, name in enumerate(names[:24]):
            manual[name] = cols[i % len(cols)].slider(md_escape(name), 0.0, 1.0, float(scores.threshold), 0.01,
                                                      key=f"fair-manual-{i}")
    else:
        st.caption(md_escape(GROUP_CAVEAT))
    outcomes = _outcomes(run_id, strategy, scores.y_true, scores.score, groups.to_numpy().astype(str),
                         float(threshold), tuple(sorted(manual.items())), float(fp_cost), float(fn_cost),
                         (slicing,), min(get_settings().fairness_resamples, 1000))
    columns = st.columns(len(outcomes))
    for i, (col, outcome) in enumerate(zip(columns, outcomes, strict=True)):
        with col:
            _outcome_view(outcome, f"fair-outcome-{i}")
    labels = [o.rule.strategy for o in outcomes]
    chosen = st.radio("Rule to keep", labels, horizontal=True, key="fair-rule-choice",
                      format_func=strategy_label) if len(labels) > 1 else labels[0]
    return outcomes[labels.index(chosen)].rule


def mitigation_actions(run_id: str, kind: str, sensitive: list[str], intersect: bool,
                       rule: DecisionRule | None, class_name: str | None = None) -> None:
    """Save the shown rule (for a multiclass run: for ``class_name`` against the rest) or start a retraining."""
    store = run_store()
    if not can_edit():
        viewer_note("save mitigated runs or start retraining")
        return
    a, b = st.columns(2)
    with a:
        shown = "none" if rule is None else strategy_label(rule.strategy)
        for_class = "" if class_name is None else f" for class {class_name} against the rest"
        st.markdown(f"**Post-processing**: store the rule shown above ({md_escape(shown)}){md_escape(for_class)} "
                    "as a new run")
        if class_name is not None:
            st.caption(md_escape(MULTICLASS_RULE.format(name=class_name)))
        if st.button("Save the rule as a mitigated run", key="fair-save-rule", disabled=rule is None):
            with user_errors():
                child = start_mitigation(store, run_id, method="thresholds", sensitive=sensitive,
                                         intersect=intersect, rule=rule, class_name=class_name)
                st.success(md_escape(f"Stored the mitigated run “{display_name(store.get(child))}”, linked to "
                                     f"“{display_name(store.get(run_id))}”."))
    with b:
        st.markdown("**Retraining**: reweighting (Kamiran-Calders) or reductions (ExponentiatedGradient)")
        if kind in OUTSIDE_KINDS:
            st.caption("Models trained elsewhere (imported scores, uploaded model files) have no model to retrain "
                       "here; only post-processing applies to them.")
            return
        methods = ["reweight", "reductions"] if class_name is None else ["reweight"]
        if class_name is not None:
            st.caption(NO_MULTICLASS_REDUCTIONS)
        method = st.selectbox("Method", methods, key="fair-method", format_func=lambda m: METHOD_WORDS[m])
        constraint = st.selectbox("Aim for", list(CONSTRAINTS), key="fair-constraint",
                                  format_func=lambda c: CONSTRAINTS[c])
        if st.button("Start retraining in the background", key="fair-start"):
            with user_errors():
                child = start_mitigation(store, run_id, method=method, constraint=constraint, sensitive=sensitive,
                                         intersect=intersect, background=True)
                st.session_state[state.RUN_ID] = child
                st.success(md_escape(f"Started “{display_name(store.get(child))}”; follow its progress on the "
                                     "Train page."))
                st.page_link("pages/train.py", label="Open the Train page", icon=":material/model_training:")
    children = store.children(run_id)
    if children:
        st.caption("Mitigated runs made from this one")
        show_table(pd.DataFrame([{"Run": display_name(c), "Status": c.status,
                                  "Accuracy": _three((c.metrics or {}).get("accuracy"))} for c in children]))


def import_form() -> str | None:
    """Upload a scored table and store it as an "import" run; returns the new run id."""
    if not can_edit():
        viewer_note("import scores")
        return None
    upload = st.file_uploader("Table with a label column and a score (or 0/1 decision) column",
                              type=["csv", "tsv", "txt", "parquet", "xlsx", "gz"], key="fair-import-upload")
    if upload is None:
        return None
    data = upload.getvalue()
    with user_errors():
        meta = dataset_store().add(data, upload.name)
        columns = [c["name"] for c in meta.schema["columns"]]
        with st.form("fair-import"):
            label = st.selectbox("Label column", columns, key="fair-import-label")
            mode = st.radio("The model's output is", ["a score in [0, 1]", "a 0/1 decision"], horizontal=True,
                            key="fair-import-mode")
            output = st.selectbox("Score or decision column", columns, index=min(1, len(columns) - 1),
                                  key="fair-import-score")
            positive = st.text_input("Positive class (blank: 1, else the rarest)", key="fair-import-positive")
            sensitive = st.multiselect("Sensitive columns", columns, key="fair-import-sensitive")
            submitted = st.form_submit_button("Import as a run")
        if submitted:
            decision = mode == "a 0/1 decision"
            run_id, rows = import_scores(run_store(), data, upload.name, label=label,
                                         score=None if decision else output, decision=output if decision else None,
                                         positive=positive.strip() or None, sensitive=sensitive)
            st.session_state[state.RUN_ID] = run_id
            st.success(md_escape(f"Imported {rows:,} rows as run {run_id}."))
            return run_id
    return None
