"""Cached access to the stores.

Frames are cached as shared resources by dataset id (a dataset id is the hash of its bytes, so the cached table
never goes stale); pages must treat them as read-only.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import get_settings
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
