"""Cached access to the stores.

Frames are cached as shared resources by dataset id (a dataset id is the hash of its bytes, so the cached table
never goes stale); pages must treat them as read-only.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import get_settings
from core.data.profile import group_sizes
from core.data.schema import LeakageWarning, leakage_candidates
from core.data.spec import SensitiveColumn, SpecSuggestion, class_counts, suggest_spec
from core.data.store import DatasetStore
from core.runs import RunStore


def dataset_store() -> DatasetStore:
    return DatasetStore(get_settings().home)


@st.cache_resource(max_entries=3, show_spinner="Loading the dataset…")
def load_frame(home: str, dataset_id: str) -> pd.DataFrame:
    return DatasetStore(home).load(dataset_id)


def current_frame(dataset_id: str) -> pd.DataFrame:
    return load_frame(str(get_settings().home), dataset_id)


def run_store() -> RunStore:
    return RunStore(get_settings().home)


@st.cache_data(max_entries=64, show_spinner=False)
def target_profile(home: str, dataset_id: str, target: str) -> tuple[pd.Series, list[LeakageWarning]]:
    """Class counts and target-leakage warnings for one target choice (seconds on a million rows: computed once)."""
    frame = load_frame(home, dataset_id)
    leaks = leakage_candidates(frame, target)
    return class_counts(frame, target), leaks


@st.cache_data(max_entries=64, show_spinner=False)
def suggestion_for(home: str, dataset_id: str, target: str | None) -> SpecSuggestion:
    store = DatasetStore(home)
    return suggest_spec(load_frame(home, dataset_id), store.meta(dataset_id).schema_obj(), dataset_id, target=target)


@st.cache_data(max_entries=64, show_spinner=False)
def group_sizes_for(home: str, dataset_id: str, sensitive: tuple[SensitiveColumn, ...]) -> dict[str, pd.Series]:
    return group_sizes(load_frame(home, dataset_id), sensitive)
