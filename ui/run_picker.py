"""The one run picker: every page that works on a finished model run picks it here.

It lists model runs only (trained here, imported scores, an uploaded model; never an audit or other job), newest
first, names each with :func:`core.runs.naming.display_name`, and defaults to the run the URL names, then the
session's current run, then whatever the page prefers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import streamlit as st

from core.runs import MODEL_RUN_KINDS, SUCCEEDED, RunRecord, RunStore
from core.runs.naming import display_name
from ui import state
from ui.feedback import user_errors

LIMIT = 500


def finished_model_runs(runs: RunStore, kinds: Iterable[str] = MODEL_RUN_KINDS) -> list[RunRecord]:
    """Succeeded model runs of the given kinds, newest first ([] when the store cannot be read: the error shows)."""
    with user_errors():
        return runs.list(limit=LIMIT, status=SUCCEEDED, kinds=tuple(kinds))
    return []


def preferred_run(*fallbacks: str | None) -> str | None:
    """The run the URL names, else the session's current run, else the first fallback given."""
    for candidate in (st.query_params.get(state.RUN_QUERY_PARAM), st.session_state.get(state.RUN_ID), *fallbacks):
        if candidate:
            return candidate
    return None


def pick_run(records: Sequence[RunRecord], *, key: str, label: str = "Run",
             prefer: Sequence[str | None] = ()) -> RunRecord:
    """A select box over ``records`` (non-empty); the first of ``prefer`` that is listed is the default."""
    by_id = {r.id: r for r in records}
    ids = list(by_id)
    default = next((p for p in prefer if p in by_id), None) or preferred_run()
    run_id = st.selectbox(label, ids, index=ids.index(default) if default in by_id else 0, key=key,
                          format_func=lambda i: display_name(by_id[i]))
    return by_id[run_id]
