"""The Fairness page's "audit your own model" form: upload an ONNX file and a labelled table, see how the table's
columns map onto the model's inputs, and store the model as a run. Thin: checks and storage are
``core.fairness.prepare_import`` / ``import_model``; nothing is stored until every check has passed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data.ingest import read_table
from core.fairness import PreparedImport, import_model, prepare_import
from core.safety import formula_safe_frame
from ui import state
from ui.feedback import user_errors
from ui.loaders import run_store
from ui.text import md_escape

NONE = "(none)"
CANNOT_SHOW = ("Every view works on an uploaded model: evaluation, fairness, thresholds, explanations, what-if, the "
               "report. The reference-model membership attack cannot: it needs retraining the model; the loss "
               "attack runs when a members column says which rows were in its training set.")


@st.cache_data(max_entries=2, show_spinner="Reading the table…")
def _table(data: bytes, name: str) -> pd.DataFrame:
    return read_table(data, name).frame


def show_mapping(prepared: PreparedImport) -> None:
    """The column -> input mapping, the probability output read and the explanation path, as checked."""
    st.dataframe(formula_safe_frame(pd.DataFrame(prepared.mapping_rows())), hide_index=True, width="stretch",
                 key="model-import-mapping")
    output = prepared.model.output
    path = (f"exact fast path ({prepared.fast_path})" if prepared.fast_path else
            "shap's model-agnostic explainers")
    st.caption(md_escape(f"Probability of {prepared.positive!r} read from output {output.name!r}; "
                         f"{prepared.rows:,} labelled rows scored; explanations by {path}; model SHA-256 "
                         f"{prepared.model.sha256}."))
    for note in prepared.notes:
        st.caption(md_escape(note))


def model_import_form() -> str | None:
    """Upload, check and import; returns the new run id once stored."""
    st.caption(CANNOT_SHOW)
    left, right = st.columns(2)
    model = left.file_uploader("Model (.onnx)", type=["onnx"], key="model-import-onnx")
    table = right.file_uploader("Table with the model's input columns and the true label",
                                type=["csv", "tsv", "txt", "parquet", "xlsx", "gz"], key="model-import-data")
    if model is None or table is None:
        return None
    with user_errors():
        data = table.getvalue()
        columns = [str(c) for c in _table(data, table.name).columns]
        with st.form("model-import"):
            target = st.selectbox("Label column", columns, key="model-import-target")
            positive = st.text_input("Positive class (blank: 1, else the rarest)", key="model-import-positive")
            features = st.multiselect("Columns of the model's single tensor input, in order (blank: every other "
                                      "column; per-column inputs are matched by name)", columns,
                                      key="model-import-features")
            sensitive = st.multiselect("Sensitive columns", columns, key="model-import-sensitive")
            members = st.selectbox("Column marking the model's training rows (for the membership audit)",
                                   [NONE, *columns], key="model-import-members")
            check, submit = st.columns(2)
            checked = check.form_submit_button("Check the mapping")
            submitted = submit.form_submit_button("Import as a run", type="primary")
        options = {"target": target, "positive": positive.strip() or None, "features": features or None,
                   "sensitive": sensitive, "members": None if members == NONE else members}
        if checked:
            show_mapping(prepare_import(model.getvalue(), _table(data, table.name), model_name=model.name,
                                        **options))
        if submitted:
            run_id, prepared = import_model(run_store(), model.getvalue(), model.name, data, table.name, **options)
            show_mapping(prepared)
            st.session_state[state.RUN_ID] = run_id
            st.success(md_escape(f"Imported {model.name} as run {run_id}."))
            return run_id
    return None
