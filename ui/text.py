"""Safe rendering of user text (column names, cell values, file names) in Streamlit's markdown-capable elements.

``st.error``/``st.warning``/labels render Markdown; an uploaded column named ``![x](http://evil)`` or
``<img onerror=...>`` must show as those characters, not as an image or a link. HTML is already escaped by
Streamlit when ``unsafe_allow_html`` is off (and we never turn it on); this escapes the Markdown.
"""

from __future__ import annotations

import re

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def md_escape(text: object) -> str:
    """Escape every character Markdown (and Streamlit's extensions: colours, emoji shortcodes, LaTeX) could act on."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(text).split()))
