"""A warning on every page while a keyed workspace still holds row-level files in plaintext (written before the
key was set). The scan reads the first bytes of each stored file, so it is cached for a minute per workspace."""

from __future__ import annotations

import os

import streamlit as st

from core.config import get_settings
from core.data.encrypt_existing import plaintext_warning
from ui.text import md_escape


@st.cache_data(ttl=60, show_spinner=False)
def _warning(home: str, key_marker: str) -> str | None:
    return plaintext_warning(home)


def plaintext_notice() -> None:
    """One ``st.warning`` above the page when a key is set and plaintext row-level files remain."""
    marker = os.environ.get("RISKBOARD_DATA_KEY", "") + os.environ.get("RISKBOARD_DATA_KEY_FILE", "")
    if not marker:
        return
    text = _warning(str(get_settings().home), str(hash(marker)))
    if text:
        st.warning(md_escape(text), icon=":material/lock_open:")
