"""Data page: upload or pick a dataset, read its schema, choose target / features / sensitive columns, save a spec."""

from __future__ import annotations

import streamlit as st

from core.config import get_settings
from core.data.demo import ensure_demo, ensure_synthetic_demo
from core.data.profile import schema_table
from core.data.spec import (
    MIN_CLASS_ROWS,
    SensitiveColumn,
    build_spec,
    check_target_classes,
)
from core.figures.data import class_balance_figure, group_sizes_figure
from core.safety import formula_safe_frame
from ui import state
from ui.feedback import show_error, show_warnings, user_errors
from ui.loaders import current_frame, dataset_store, group_sizes_for, suggestion_for, target_profile
from ui.router import require_app_router
from ui.text import md_escape

UPLOAD_TYPES = ["csv", "tsv", "txt", "parquet", "pq", "xlsx", "gz"]

require_app_router()
st.title("Data")
st.caption("Upload a table (CSV, TSV, Parquet, Excel) or use the UCI Adult demo, check its schema, then tell "
           "Riskboard what to predict and whom to audit.")

store = dataset_store()
settings = get_settings()


def _handle_upload() -> None:
    upload = st.file_uploader(
        f"Upload a table (up to {settings.max_upload_mb:g} MB, {settings.max_rows:,} rows, "
        f"{settings.max_columns} columns)", type=UPLOAD_TYPES, key="upload")
    if upload is None:
        return
    marker = (upload.name, upload.size, getattr(upload, "file_id", ""))
    if st.session_state.get(state.LAST_UPLOAD) == marker:
        return
    st.session_state[state.LAST_UPLOAD] = marker
    try:
        with st.spinner("Reading the file…"):
            meta = store.add(upload.getvalue(), upload.name, settings=settings)
    except Exception as exc:  # noqa: BLE001 - shown to the user, the page keeps working
        show_error(exc)
        return
    st.session_state[state.DATASET_ID] = meta.id
    st.session_state[state.FLASH] = f"Stored {meta.name}: {meta.rows:,} rows × {meta.columns} columns."


with user_errors():
    if not store.list():
        ensure_demo(store)
_handle_upload()
if st.button("Add the synthetic loans demo (known bias against group B)", key="add-synthetic",
             help="5,000 rows generated with known feature effects and a known penalty for group B, to check that "
                  "Riskboard's explanations and fairness numbers find what was put in."):
    with user_errors():
        synthetic, _ = ensure_synthetic_demo(store)
        st.session_state[state.DATASET_ID] = synthetic.id

datasets = store.list()
if not datasets:
    st.info("No dataset yet: upload a file above.")
    st.stop()

ids = [m.id for m in datasets]
if st.session_state.get(state.DATASET_ID) not in ids:
    st.session_state[state.DATASET_ID] = ids[0]
labels = {m.id: m.label for m in datasets}
dataset_id = st.selectbox("Dataset", ids, format_func=labels.get, key=state.DATASET_ID)
meta = store.meta(dataset_id)

if flash := st.session_state.pop(state.FLASH, None):
    st.success(md_escape(flash))

try:
    frame = current_frame(dataset_id)
except Exception as exc:  # noqa: BLE001
    show_error(exc)
    st.stop()

schema = meta.schema_obj()
suffix = dataset_id[:12]

overview, schema_tab = st.tabs(["Preview", "Schema"])
with overview:
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows", f"{meta.rows:,}")
    c2.metric("Columns", meta.columns)
    c3.metric("Format", meta.format)
    st.dataframe(formula_safe_frame(frame.head(200)), width="stretch", height=300)
    show_warnings(meta.warnings)
with schema_tab:
    st.dataframe(formula_safe_frame(schema_table(schema)), width="stretch", hide_index=True, column_config={
        "missing": st.column_config.ProgressColumn("missing", format="percent", min_value=0.0, max_value=1.0),
        "unique": st.column_config.NumberColumn("unique", format="%d"),
    })

st.subheader("What to predict and whom to audit")
saved_specs = store.list_specs(dataset_id)
with user_errors():
    home = str(settings.home)
    suggestion = suggestion_for(home, dataset_id, None)
    base = saved_specs[0] if saved_specs else suggestion.spec
    columns = [str(c) for c in frame.columns]

    target = st.selectbox("Target column (what the model predicts)", columns, index=columns.index(base.target),
                          key=f"target-{suffix}")
    if target != suggestion.spec.target:
        suggestion = suggestion_for(home, dataset_id, target)
        base = suggestion.spec
    counts, leaks = target_profile(home, dataset_id, target)
    check_target_classes(target, counts)  # a continuous target stops here with one short message
    for leak in leaks:
        st.warning(md_escape(f"Possible target leakage: {leak}"))
    classes = [str(c) for c in counts.index]
    if not classes:
        st.error(md_escape(f"{target!r} has no values; pick another target."))
        st.stop()
    positive_default = classes.index(base.positive_class) if base.positive_class in classes else len(classes) - 1
    positive = st.selectbox("Positive class (the outcome risk views focus on)", classes,
                            index=positive_default, key=f"positive-{suffix}-{target}")
    if len(classes) > 2:
        st.caption(f"{len(classes)} classes: the model learns all of them; risk views treat "
                   f"{md_escape(positive)} as positive and the rest as negative.")

    candidates = [c for c in columns if c != target]
    features = st.multiselect("Features (what the model may use)", candidates,
                              default=[c for c in base.features if c in candidates], key=f"features-{suffix}-{target}")
    excluded = {c: r for c, r in suggestion.excluded.items() if c != target}
    if excluded:
        with st.expander(f"{len(excluded)} column(s) left out by default, and why"):
            for reason in excluded.values():
                st.text(reason)

    sensitive_names = st.multiselect(
        "Sensitive columns (groups to audit fairness and privacy by)", candidates,
        default=[c for c in base.sensitive_columns if c in candidates], key=f"sensitive-{suffix}-{target}")
    kinds = {c.name: c.kind for c in schema.columns}
    previous = {s.column: s for s in base.sensitive}
    sensitive: list[SensitiveColumn] = []
    for name in sensitive_names:
        if kinds.get(name) != "numeric":
            sensitive.append(SensitiveColumn(name))
            continue
        prior = previous.get(name, SensitiveColumn(name, binning="quantile"))
        col_a, col_b = st.columns([1, 2])
        binning = col_a.selectbox(f"Groups for {md_escape(name)}", ["quantile", "edges", "none"],
                                  index=["quantile", "edges", "none"].index(prior.binning),
                                  key=f"binning-{suffix}-{name}",
                                  help="quantile: equal-sized bins; edges: your own cut points; none: every value")
        try:
            if binning == "quantile":
                bins = col_b.number_input(f"Quantile bins for {md_escape(name)}", 2, 20, prior.bins,
                                          key=f"bins-{suffix}-{name}")
                sensitive.append(SensitiveColumn(name, binning="quantile", bins=int(bins)))
            elif binning == "edges":
                text = col_b.text_input(f"Cut points for {md_escape(name)} (comma separated)",
                                        ", ".join(f"{e:g}" for e in prior.edges) or "25, 45, 65",
                                        key=f"edges-{suffix}-{name}")
                edges = tuple(float(v) for v in text.replace(";", ",").split(",") if v.strip())
                sensitive.append(SensitiveColumn(name, binning="edges", edges=edges))
            else:
                sensitive.append(SensitiveColumn(name))
        except ValueError:
            st.error(md_escape(f"Cut points for {name!r} must be numbers separated by commas, e.g. 25, 45, 65."))
            st.stop()


    chart_a, chart_b = st.columns(2)
    chart_a.plotly_chart(class_balance_figure(counts, positive), width="stretch", key=f"balance-{suffix}")
    if sensitive:
        sizes = group_sizes_for(home, dataset_id, tuple(sensitive))
        chart_b.plotly_chart(group_sizes_figure(sizes, min_size=MIN_CLASS_ROWS), width="stretch",
                             key=f"groups-{suffix}")
    else:
        chart_b.info("Pick sensitive columns to see how many rows each group has.")

    with st.form(f"save-spec-{suffix}", border=False):
        name = st.text_input("Spec name (optional)", value=base.name or f"{target} = {positive}", max_chars=120)
        submitted = st.form_submit_button("Save spec", type="primary")
    if submitted:
        try:
            built = build_spec(frame, schema, dataset_id, target=target, positive=positive, features=features,
                               sensitive=sensitive, name=name)
            warnings = built.warnings
            spec_id = store.save_spec(built.spec)
        except Exception as exc:  # noqa: BLE001
            show_error(exc)
        else:
            st.session_state[state.SPEC_ID] = spec_id
            st.success(md_escape(f"Saved spec {spec_id}: predict {target} = {positive} from {len(features)} "
                                 f"features, audited by {len(sensitive)} sensitive column(s)."))
            show_warnings(warnings)

if saved_specs:
    with st.expander(f"Saved specs for this dataset ({len(saved_specs)})"):
        for saved in saved_specs:
            st.text(f"{saved.spec_id}  {saved.name or '(unnamed)'}: {saved.target} = {saved.positive_class}, "
                    f"{len(saved.features)} features, sensitive: {', '.join(saved.sensitive_columns) or 'none'}")

with st.expander("Manage datasets"):
    st.caption("Deleting removes the stored table and its specs; runs already trained keep their records.")
    if st.button("Delete this dataset", key=f"delete-{suffix}"):
        deleted = False
        with user_errors():
            store.delete(dataset_id)
            deleted = True
        if deleted:
            st.session_state.pop(state.DATASET_ID, None)
            st.rerun()
