"""Data page: upload or pick a dataset, read its schema, choose target / features / sensitive columns, save a spec."""

from __future__ import annotations

import streamlit as st

from core.config import get_settings
from core.data.demo import ensure_demo, ensure_synthetic_demo
from core.data.erase import erase_dataset
from core.data.notices import column_notes, excluded_lines
from core.data.profile import review_leaks, schema_table
from core.data.spec import (
    MIN_CLASS_ROWS,
    DatasetSpec,
    SensitiveColumn,
    build_spec,
    check_target_classes,
)
from core.data.spec_names import default_spec_name, unique_spec_name
from core.errors import SpecError
from core.figures.data import class_balance_figure, group_sizes_figure
from core.safety import formula_safe_frame
from core.text import plural
from ui import state
from ui.auth import can_edit, viewer_note
from ui.feedback import show_error, show_warnings, user_errors
from ui.header import next_step_link, page_header
from ui.loaders import current_frame, dataset_store, group_sizes_for, suggestion_for, target_profile
from ui.router import require_app_router
from ui.text import md_escape
from ui.workflow import STEPS

UPLOAD_TYPES = ["csv", "tsv", "txt", "parquet", "pq", "xlsx", "gz"]

require_app_router()
st.title("Data")
page_header("data")
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
    failed = st.session_state.get(state.UPLOAD_ERROR)
    if failed and failed[0] == marker:
        _upload_failed(failed[1])  # still the file that failed: keep saying so, not the old dataset's warnings
    if st.session_state.get(state.LAST_UPLOAD) == marker:
        return
    st.session_state[state.LAST_UPLOAD] = marker
    try:
        with st.spinner("Reading the file…"):
            meta = store.add(upload.getvalue(), upload.name, settings=settings)
    except Exception as exc:  # noqa: BLE001 - shown to the user, the page keeps working
        st.session_state[state.UPLOAD_ERROR] = (marker, exc)
        _upload_failed(exc)
    st.session_state.pop(state.UPLOAD_ERROR, None)
    st.session_state[state.DATASET_ID] = meta.id
    st.session_state[state.FLASH] = (f"Stored {meta.name}: {plural(meta.rows, 'row')} × "
                                     f"{plural(meta.columns, 'column')}.")
    st.rerun()  # the header above, drawn before the upload, then names the new dataset too


def _upload_failed(exc: BaseException) -> None:
    """Show why the upload failed and nothing of the previously shown dataset (its warnings would read as if they
    were about the new file); the stored datasets come back once the file is removed from the uploader."""
    show_error(exc)
    st.caption("Remove the file from the uploader above to go back to your stored datasets.")
    st.stop()


with user_errors():
    if not store.list() and can_edit():
        ensure_demo(store)
if can_edit():
    _handle_upload()
    if st.button("Add the synthetic loans demo (known bias against group B)", key="add-synthetic",
                 help="5,000 rows generated with known feature effects and a known penalty for group B, to check "
                      "that Riskboard's explanations and fairness numbers find what was put in."):
        added = False
        with user_errors():
            synthetic, _ = ensure_synthetic_demo(store)
            st.session_state[state.DATASET_ID] = synthetic.id
            added = True
        if added:
            st.rerun()  # the header, drawn before the click, then names the dataset now chosen
else:
    viewer_note("upload or add datasets")

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
    with st.container(key="scroll-data-preview"):  # the raw rows: a grid to scroll, as wide as the table is
        st.dataframe(formula_safe_frame(frame.head(200)), width="stretch", height=300)
    show_warnings(meta.warnings)
with schema_tab:
    table = schema_table(schema)
    notes = column_notes(schema)  # constant/empty columns folded into one line
    table["warnings"] = [len(c.warnings) for c in schema.columns]  # the text goes below, where it can wrap
    st.dataframe(formula_safe_frame(table), width="stretch", hide_index=True, column_config={
        "missing": st.column_config.ProgressColumn("missing", format="percent", min_value=0.0, max_value=1.0),
        "unique": st.column_config.NumberColumn("unique", format="%d"),
        "warnings": st.column_config.NumberColumn("warnings", format="%d", help="details below the table"),
    })
    if notes:
        with st.expander(f"Column warnings ({len(notes)})"):
            for column_name, note in notes:
                st.markdown(f"- **{md_escape(column_name)}**: {md_escape(note)}" if column_name
                            else f"- {md_escape(note)}")

st.subheader("What to predict and whom to audit")
saved_specs = store.list_specs(dataset_id)
with user_errors():
    home = str(settings.home)
    suggestion = suggestion_for(home, dataset_id, None)
    # reopening a dataset starts from its most recent saved spec, so Save again saves the same spec
    initial = saved_specs[0] if saved_specs else suggestion.spec
    columns = [str(c) for c in frame.columns]

    target = st.selectbox("Target column (what the model predicts)", columns, index=columns.index(initial.target),
                          key=f"target-{suffix}")
    restored = next((s for s in saved_specs if s.target == target), None)
    guessed = suggestion.guess is not None and target == suggestion.guess.column and restored is None
    if target != suggestion.spec.target:
        suggestion = suggestion_for(home, dataset_id, target)
    base = restored or suggestion.spec
    if restored is not None:
        st.caption(md_escape(f"Restored your most recent saved spec for this target: "
                             f"{restored.name or restored.spec_id}."))
    elif guessed:
        st.info(md_escape(f"Target guessed: {target!r}, because {suggestion.guess.explanation}. This is a guess: "
                          "confirm it or pick the column you want to predict."), icon=":material/help:")
    counts, leaks = target_profile(home, dataset_id, target)
    target_problem = None
    try:
        check_target_classes(target, counts)
    except SpecError as exc:  # a continuous target: say how to fix it and keep the rest of the form
        target_problem = f"{exc} The rest of the form stays open; saving waits for a usable target."
        st.warning(md_escape(target_problem), icon=":material/warning:")
    classes = [] if target_problem else [str(c) for c in counts.index]
    if not classes and not target_problem:
        target_problem = f"{target!r} has no values; pick another target."
        st.warning(md_escape(target_problem))
    positive = ""
    if classes:
        positive_default = (classes.index(base.positive_class) if base.positive_class in classes
                            else len(classes) - 1)
        positive = st.selectbox("Positive class (the outcome risk views focus on)", classes,
                                index=positive_default, key=f"positive-{suffix}-{target}")
        if len(classes) > 2:
            st.caption(f"{len(classes)} classes: the model learns all of them; risk views treat "
                       f"{md_escape(positive)} as positive and the rest as negative.")

    candidates = [c for c in columns if c != target]
    features = st.multiselect("Features (what the model may use)", candidates,
                              default=[c for c in base.features if c in candidates], key=f"features-{suffix}-{target}")
    excluded = {c: r for c, r in suggestion.excluded.items() if c != target}
    review = review_leaks(leaks, features)
    left_out = list(review.left_out)
    if left_out:
        st.warning(md_escape(f"{plural(len(left_out), 'column')} may give the target away and "
                             f"{'is' if len(left_out) == 1 else 'are'} left out of the features: "
                             f"{', '.join(left_out)} (reasons below)."), icon=":material/policy:")
    for leak in review.selected:
        st.warning(md_escape(f"You selected a column that may leak the target: {leak}"), icon=":material/warning:")
    if excluded:
        with st.expander(f"{plural(len(excluded), 'column')} left out by default, and why"):
            for line in excluded_lines(excluded):  # constant/empty columns in one line, not one each
                st.markdown(f"- {md_escape(line)}")
            st.caption("Add a column back to the features above if you know it is fair to use.")

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

    # what the form shows, compared with the saved specs (build_spec validates it on Save)
    spec = DatasetSpec(dataset_id=dataset_id, target=target, positive_class=positive, features=tuple(features),
                       sensitive=tuple(sensitive), name=base.name)

    chart_a, chart_b = st.columns(2)
    if classes:
        chart_a.plotly_chart(class_balance_figure(counts, positive), width="stretch", key=f"balance-{suffix}")
    if sensitive:
        sizes = group_sizes_for(home, dataset_id, tuple(sensitive))
        chart_b.plotly_chart(group_sizes_figure(sizes, min_size=MIN_CLASS_ROWS), width="stretch",
                             key=f"groups-{suffix}")
    else:
        chart_b.info("Pick sensitive columns to see how many rows each group has.")

    same_as_saved = restored is not None and restored.spec_id == spec.spec_id
    submitted, name = False, ""
    if can_edit():
        with st.form(f"save-spec-{suffix}", border=False):
            name = st.text_input("Spec name (optional)",
                                 value=base.name if same_as_saved else default_spec_name(spec), max_chars=120)
            submitted = st.form_submit_button("Save spec", type="primary", disabled=target_problem is not None)
    else:
        viewer_note("save specs")
    if submitted:
        name = unique_spec_name(name, spec, saved_specs)
        try:
            built = build_spec(frame, schema, dataset_id, target=target, positive=positive, features=features,
                               sensitive=sensitive, name=name)
            warnings = built.warnings
            spec_id = store.save_spec(built.spec)
        except Exception as exc:  # noqa: BLE001
            show_error(exc)
        else:
            st.session_state[state.SPEC_ID] = spec_id
            same_as_saved = True
            st.success(md_escape(f"Saved spec {built.spec.name!r} ({spec_id}): predict {target} = {positive} from "
                                 f"{plural(len(features), 'feature')}, audited by "
                                 f"{plural(len(sensitive), 'sensitive column')}."))
            show_warnings(warnings)
    if same_as_saved:
        st.session_state[state.SPEC_ID] = spec.spec_id  # the Train page opens on the spec shown here
        next_step_link(STEPS[1], label="Train on this spec")

if saved_specs:
    with st.expander(f"Saved specs for this dataset ({len(store.list_specs(dataset_id))})"):
        for saved in store.list_specs(dataset_id):
            st.text(f"{saved.spec_id}  {saved.name or '(unnamed)'}: {saved.target} = {saved.positive_class}, "
                    f"{len(saved.features)} features, sensitive: {', '.join(saved.sensitive_columns) or 'none'}")

if can_edit():
    with st.expander("Manage datasets"):
        st.caption("Deleting removes the stored table and its specs (with encryption on, its key is destroyed "
                   "first); runs already trained keep their records unless you delete them too.")
        with_runs = st.checkbox("Also delete every run trained on this dataset", key=f"delete-runs-{suffix}")
        if st.button("Delete this dataset", key=f"delete-{suffix}"):
            deleted = False
            with user_errors():
                erase_dataset(settings.home, dataset_id, with_runs=with_runs)
                deleted = True
            if deleted:
                st.session_state.pop(state.DATASET_ID, None)
                st.rerun()
