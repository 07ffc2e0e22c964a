"""Streamlit pieces of the Explain page: run picker, settings, progress, the views and the what-if editor.

Everything computed here comes from ``core.explain`` (values, sentences, counterfactuals) and ``core.figures.explain``
(figures); this module only lays widgets out and passes their values on.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.explain import (
    MODEL_NOT_WORLD,
    Attributions,
    ExplainableRun,
    additivity_sentence,
    background_rows,
    counterfactuals,
    coverage_sentence,
    default_frozen,
    edit_row,
    explain_run,
    importance_sentences,
    known_levels,
    load_run,
    matching_rows,
    near_threshold,
    row_sentences,
)
from core.figures.explain import (
    beeswarm_figure,
    dependence_figure,
    group_importance_figure,
    importance_figure,
    waterfall_figure,
)
from core.runs import RunStore
from core.text import probability_text
from core.timeleft import time_left
from ui import run_picker
from ui.run_picker import finished_model_runs, preferred_run
from ui.text import md_escape

PICK_NEAR = "A rejected row near the threshold"
PICK_INDEX = "By position in the sample"
PICK_FILTER = "By filtering on a feature"


@st.cache_resource(max_entries=4, show_spinner="Loading the run's model and data…")
def loaded_run(home: str, run_id: str, class_name: str | None = None) -> ExplainableRun:
    """The run's model, preprocessing and rows, shared read-only between reruns and sessions; ``class_name`` is the
    class whose score is explained (default the positive class)."""
    return load_run(RunStore(home), run_id, class_name)


def pick_run(runs: RunStore, fallback: str | None = None) -> str | None:
    """Finished model runs, newest first; the default is the run the URL names, else the session's current run."""
    records = finished_model_runs(runs)
    if not records:
        st.info("No finished run yet: train one on the Train page, then come back to explain it.")
        return None
    return run_picker.pick_run(records, key="explain-run", prefer=(preferred_run(fallback),)).id


def settings(n_test: int, *, agnostic: bool = False) -> tuple[int, int, int, str]:
    """Rows, background, seed and summary; an uploaded model explained model-agnostically starts with fewer rows
    (each explained row costs many model evaluations) and samples its background (no k-means centres)."""
    left, middle, right = st.columns(3)
    rows = left.number_input("Test rows to explain", min_value=1, max_value=max(1, min(100_000, n_test)),
                             value=min(200 if agnostic else 1000, n_test), step=100, key="explain-rows",
                             help="A seeded sample of the run's test rows; all of them when the test set is smaller.")
    background = middle.number_input("Background rows", min_value=10, max_value=2000, value=200, step=50,
                                     key="explain-background",
                                     help="Training rows the scores are compared against; SHAP values explain the "
                                          "difference from their average score.")
    seed = right.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="explain-seed")
    if agnostic:
        st.caption("This uploaded model is explained with shap's model-agnostic explainers through onnxruntime "
                   "(exact for up to 8 features, permutation sampling with its error stated beyond); the background "
                   "is capped at 100 rows.")
        return int(rows), int(background), int(seed), "sample"
    kmeans = st.checkbox("Summarise the background by k-means centres", value=False, key="explain-kmeans",
                         help="Centres of the training rows, weighted by cluster size, instead of a random sample: "
                              "covers the data with fewer rows. Centres of categories are shares, not real rows.")
    return int(rows), int(background), int(seed), "kmeans" if kmeans else "sample"


def compute(runs: RunStore, run: ExplainableRun, rows: int, background: int, seed: int, summary: str = "sample"
            ) -> Attributions:
    """The cached explanation, or compute it with a progress bar (rows done, time left once past a second)."""
    started = time.perf_counter()
    holder: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        bar = holder.get("bar")
        if bar is None:
            bar = holder["bar"] = st.progress(0.0, text="Computing SHAP values…")
        elapsed = time.perf_counter() - started
        text = f"Computing SHAP values: {done:,} of {total:,} row explanations done"
        if elapsed > 1 and 0 < done < total:
            text += f", about {time_left(elapsed, done, total):.0f} s left"
        bar.progress(min(1.0, done / max(1, total)), text=text)

    result = explain_run(runs, run.run_id, rows=rows, background=background, seed=seed, on_progress=progress,
                         run=run, summary=summary)
    if "bar" in holder:
        holder["bar"].empty()
    return result


def summary(result: Attributions, run: ExplainableRun) -> None:
    st.success(md_escape(additivity_sentence(result.additivity_max_error, result.n_rows)))
    st.caption(md_escape(coverage_sentence(result, run.n_dataset_rows)))
    if result.note:
        st.caption(md_escape(result.note))


def views(result: Attributions, run: ExplainableRun) -> None:
    importance, swarm, dependence, by_group = st.tabs(["Importance", "Beeswarm", "Dependence", "By group"])
    with importance:
        st.plotly_chart(importance_figure(result), key="explain-importance")
        for line in importance_sentences(result):
            st.markdown("- " + md_escape(line))
    with swarm:
        st.plotly_chart(beeswarm_figure(result), key="explain-beeswarm")
    with dependence:
        ordered = result.importance()["feature"].tolist()
        left, right = st.columns(2)
        feature = left.selectbox("Feature", ordered, key="explain-dep-feature")
        others = ["(none)"] + [n for n in ordered if n != feature]
        colour = right.selectbox("Colour by", others, index=1 if len(others) > 1 else 0, key="explain-dep-colour")
        st.plotly_chart(dependence_figure(result, feature, color_by=None if colour == "(none)" else colour),
                        key="explain-dependence")
    with by_group:
        if not run.sensitive:
            st.info("The run's spec names no sensitive column, so there is no group split to show.")
        else:
            column = st.selectbox("Sensitive column", list(run.sensitive), key="explain-group-column")
            labels = run.test_groups.loc[result.rows, column].tolist()
            st.plotly_chart(group_importance_figure(result, labels, group_name=column), key="explain-by-group")


def _pick_row(result: Attributions, run: ExplainableRun) -> int | None:
    mode = st.radio("Pick a row", [PICK_NEAR, PICK_INDEX, PICK_FILTER], horizontal=True, key="whatif-mode")
    if mode == PICK_NEAR:
        return near_threshold(result.probabilities, run.scorer.threshold, rejected=True)
    if mode == PICK_INDEX:
        return int(st.number_input("Position in the explained sample", min_value=0, max_value=result.n_rows - 1,
                                   value=0, step=1, key="whatif-position"))
    left, right = st.columns(2)
    feature = left.selectbox("Feature", list(result.feature_names), key="whatif-filter-feature")
    column = result.data[feature]
    if feature in run.scorer.preprocessor.numeric:
        numbers = column.to_numpy(dtype=float)
        low, high = float(np.nanmin(numbers)), float(np.nanmax(numbers))
        chosen = right.slider("Range", low, high, (low, high), key=f"whatif-filter-range-{feature}") \
            if high > low else (low, high)
        matches = matching_rows(result.data, {feature: tuple(chosen)})
    else:
        levels = sorted(column.dropna().astype(str).unique().tolist())
        value = right.selectbox("Value", levels, key=f"whatif-filter-value-{feature}")
        matches = matching_rows(result.data, {feature: value})
    if len(matches) == 0:
        st.info("No explained row matches; widen the filter.")
        return None
    st.caption(f"{len(matches):,} matching rows.")
    return int(st.selectbox("Row", matches[:500].tolist(), key="whatif-match",
                            format_func=lambda p: f"dataset row {result.rows[p]} · probability "
                                                  f"{probability_text(result.probabilities[p])}"))


def _edit_widgets(row: pd.Series, run: ExplainableRun, key: str) -> dict[str, Any]:
    edits: dict[str, Any] = {}
    columns = st.columns(3)
    pre = run.scorer.preprocessor
    for i, name in enumerate(pre.columns):
        slot = columns[i % 3]
        value = row[name]
        if name in pre.numeric:
            number = float(value) if value is not None and np.isfinite(value) else float(pre.medians_[name])
            whole = number == round(number) and abs(number) < 1e12
            new = slot.number_input(md_escape(name), value=number, key=f"{key}-{i}",
                                    format="%.0f" if whole else "%.4f", step=1.0 if whole else None)
            if value is None or not np.isfinite(value) or new != number:
                edits[name] = float(new)
        else:
            levels = known_levels(pre, run.train, name)
            current = "(missing)" if value is None else str(value)
            options = levels if current in levels else [current, *levels]
            new = slot.selectbox(md_escape(name), options, index=options.index(current), key=f"{key}-{i}")
            if new != current:
                edits[name] = None if new == "(missing)" else new
    return edits


def whatif(result: Attributions, run: ExplainableRun, background: int, seed: int) -> None:
    st.subheader("What if?")
    st.caption(md_escape(MODEL_NOT_WORLD))
    position = _pick_row(result, run)
    if position is None:
        return
    row_id = int(result.rows[position])
    original = run.test.loc[[row_id]]
    st.caption(f"Dataset row {row_id}: edit any value below; the score and the waterfall follow.")
    edits = _edit_widgets(result.data.iloc[position], run, key=f"whatif-{row_id}")
    edited = edit_row(original, edits, run.scorer.preprocessor, run.train)
    scores = run.scorer.score(edited).iloc[0]
    pool = run.train.iloc[background_rows(len(run.train), background, seed, 0)]
    values, base = run.scorer.explain(edited, pool)
    shown = [edited.iloc[0][name] for name in result.feature_names]
    decision = run.explained if scores["positive"] else _other(run)
    left, middle, right = st.columns(3)
    left.metric("Probability of " + md_escape(run.explained),
                probability_text(float(scores["probability"]), run.scorer.threshold))
    middle.metric("Log-odds", f"{scores['logit']:+.3f}")
    right.metric(f"Decision at threshold {run.scorer.threshold:.2f}", md_escape(decision))
    if edits:
        st.caption(md_escape("Edited: " + ", ".join(f"{k} → {v}" for k, v in edits.items())))
    st.plotly_chart(waterfall_figure(result, position, values=values, shown_values=shown,
                                     probability=float(scores["probability"]), base_value=base,
                                     threshold_logit=run.scorer.threshold_logit if len(run.classes) == 2 else None),
                    key="whatif-waterfall")
    for line in row_sentences(values, result.feature_names, shown, result.output):
        st.markdown("- " + md_escape(line))
    _hints(run, edited, result)


def _other(run: ExplainableRun) -> str:
    others = [c for c in run.classes if c != run.explained]
    return others[0] if len(others) == 1 else f"not {run.explained}"


def _hints(run: ExplainableRun, edited: pd.DataFrame, result: Attributions) -> None:
    st.markdown("**Smallest changes that flip the decision**")
    choices = [n for n in result.feature_names if n not in run.sensitive]
    suggested = default_frozen(run.train, choices)
    frozen = st.multiselect("Frozen: never change these features", choices, default=suggested,
                            key=f"whatif-immutable-{run.run_id}",
                            help="Sensitive columns are never changed. Sampling weights and identifiers are frozen "
                                 "by default because nobody can act on them; unfreeze any you want tried.")
    if suggested:
        st.caption(md_escape("Frozen by default (a weight or an identifier, not something a person can change): "
                             + ", ".join(suggested) + "."))
    if st.button("Find changes that flip the decision", key="whatif-search"):
        with st.spinner("Searching for the smallest changes that flip the decision…"):
            found = counterfactuals(run.scorer, edited, run.train, immutable=[*run.sensitive, *frozen])
        if not found:
            st.info("No single change or pair of changes over observed values flips this decision.")
        for hint in found:
            st.markdown("- " + md_escape(hint.describe()))
