"""Opening a page under Streamlit's AppTest the same way in every page test."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest


def open_page(page: str, session: dict | None = None, **query: str) -> AppTest:
    """Run ``page`` once with the given URL query parameters and session state; it must not raise."""
    at = AppTest.from_file(page, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def plain(markdown: str) -> str:
    """Page text with our Markdown escapes removed, for readable assertions."""
    return re.sub(r"\\(.)", r"\1", markdown)
