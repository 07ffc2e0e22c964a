"""Make a report of one run in a format, sealed with its own content hash (:mod:`core.report._provenance`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import jsonsafe
from core.errors import ReportError
from core.report._content import build_content
from core.report._html import render_html
from core.report._inputs import ReportInputs, gather_inputs
from core.report._markdown import render_markdown
from core.report._provenance import PLACEHOLDER, seal
from core.report._settings import ReportSettings
from core.runs import RunStore

FORMATS = ("html", "md", "json")
EXTENSIONS = {"html": ".html", "md": ".md", "json": ".json"}
MEDIA_TYPES = {"html": "text/html", "md": "text/markdown", "json": "application/json"}
BAD_FORMAT = "the report format must be one of {formats}; got {value!r}."


@dataclass(frozen=True)
class Report:
    format: str
    text: str
    content_sha256: str
    content: dict[str, Any]

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8")


@functools.cache
def plotly_js() -> str:
    """The plotly.js library (about 4.8 MB), read once per process and inlined once per HTML report."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def render(content: dict[str, Any], fmt: str) -> Report:
    """Render and seal an already-built content dict."""
    if fmt not in FORMATS:
        raise ReportError(BAD_FORMAT.format(formats=", ".join(FORMATS), value=fmt))
    if fmt == "html":
        text = render_html(content, plotly_js())
    elif fmt == "md":
        text = render_markdown(content)
    else:
        body = dict(content)
        body["provenance"] = {**content["provenance"], "content_sha256": PLACEHOLDER, "format": "json"}
        text = jsonsafe.dumps(body, indent=1) + "\n"
    sealed, digest = seal(text)
    return Report(format=fmt, text=sealed, content_sha256=digest, content=content)


def report_from_inputs(inputs: ReportInputs, fmt: str = "html", *, generated_at: datetime | None = None) -> Report:
    return render(build_content(inputs, generated_at=generated_at), fmt)


def build_report(store: RunStore, run_id: str, fmt: str = "html", *, settings: ReportSettings | None = None,
                 generated_at: datetime | None = None, class_name: str | None = None) -> Report:
    """The report of ``run_id`` in ``fmt`` (html, md or json), judged by the dataset's saved thresholds unless
    ``settings`` are given; ``class_name`` is the class it covers (default the run's positive class)."""
    if fmt not in FORMATS:
        raise ReportError(BAD_FORMAT.format(formats=", ".join(FORMATS), value=fmt))
    inputs = gather_inputs(store, run_id, settings=settings, class_name=class_name)
    return report_from_inputs(inputs, fmt, generated_at=generated_at)
