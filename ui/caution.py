"""Showing the "too good to be true" caution of a finished run (computed in :mod:`core.training.caution`)."""

from __future__ import annotations

import streamlit as st

from core.config import get_settings
from core.data.store import DatasetStore
from core.errors import RiskboardError
from core.runs import RunStatus
from core.training import artifacts
from core.training.caution import LeakageCaution, run_caution
from ui.loaders import load_frame, run_store
from ui.text import md_escape


@st.cache_data(max_entries=64, show_spinner=False)
def _caution(home: str, run_id: str, finished_at: str) -> LeakageCaution | None:
    """Cached per finished run (``finished_at`` keys it, so a rerun of the same id is never served stale)."""
    store = run_store()
    record = store.get(run_id)
    frame = load_frame(home, record.dataset_id) if DatasetStore(home).exists(record.dataset_id) else None
    try:
        split = artifacts.load_split(store.artifacts(run_id))
    except (RiskboardError, OSError):
        split = None  # repeated rows are then not counted; the caution says what it could check
    return run_caution(record, frame, split)


def leakage_caution_box(run_id: str) -> LeakageCaution | None:
    """A visible warning on a run whose result looks leaked; nothing for an ordinary one."""
    record = run_store().get(run_id)
    if record.status != RunStatus.SUCCEEDED:
        return None
    caution = _caution(str(get_settings().home), run_id, str(record.finished_at))
    if caution is not None:
        show = st.info if caution.cause == "none_found" else st.warning  # a plain statement, not an alarm
        show(md_escape(caution.message), icon=":material/report:")
    return caution
