"""Showing errors and notices: typed core errors become a readable ``st.error``, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.errors import RiskboardError
from ui.text import md_escape

log = logging.getLogger("riskboard.ui")


def show_error(exc: BaseException) -> None:
    if isinstance(exc, RiskboardError):
        st.error(md_escape(exc), icon="⚠️")
    else:
        log.exception("unexpected error in a page", exc_info=exc)
        st.error(md_escape(f"Something went wrong ({type(exc).__name__}). Nothing was lost; try again, and if it "
                           "keeps happening, report it with the server log."), icon="⚠️")


@contextmanager
def user_errors() -> Iterator[None]:
    """Run a block; a user error (or a bug) is shown in place and the rest of the page keeps working."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the page must survive anything the block raises
        show_error(exc)


def show_warnings(warnings: list[str], *, limit: int = 8) -> None:
    for warning in warnings[:limit]:
        st.warning(md_escape(warning))
    if len(warnings) > limit:
        st.caption(f"… and {len(warnings) - limit} more warnings.")
