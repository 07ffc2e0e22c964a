"""The report's own fingerprint: a SHA-256 over the document as written, and the machine-readable provenance block.

The content hash is computed over the whole document with the hash itself replaced by 64 zeros, so changing any
byte (a number, a sentence, a chart point) changes it; :func:`document_hash` recomputes it from a file. Every format
embeds the same provenance object (run id, dataset and weights hashes, versions, command, content hash):

* HTML: ``<script type="application/json" id="riskboard-provenance">`` (data, never executed);
* Markdown: a last line ``<!-- riskboard-provenance {...} -->``;
* JSON: the ``provenance`` key.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

PLACEHOLDER = "0" * 64
HTML_BLOCK = re.compile(r'<script type="application/json" id="riskboard-provenance">(.*?)</script>', re.S)
MD_BLOCK = re.compile(r"<!-- riskboard-provenance (\{.*?\}) -->")

#: How a reader checks a card, in words (command lines belong to the CLI, not to what a stakeholder reads).
VERIFY_NOTE = ("Riskboard's verify check confirms that this file is unchanged and belongs to its run and model; the "
               "settings that reproduce the run are in the file's embedded provenance.")


def embedded_json(payload: Any) -> str:
    """JSON safe inside ``<script>`` or an HTML comment: ``<``, ``>`` and ``&`` as ``\\u`` escapes."""
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False, sort_keys=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def seal(document: str) -> tuple[str, str]:
    """Fill the placeholder with the document's own hash; returns ``(sealed document, hash)``."""
    if PLACEHOLDER not in document:
        raise ValueError("the document has no content-hash placeholder")
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
    return document.replace(PLACEHOLDER, digest), digest


def document_hash(document: str, claimed: str) -> str:
    """The hash the document would have had when sealed, given the hash it claims."""
    return hashlib.sha256(document.replace(claimed, PLACEHOLDER).encode("utf-8")).hexdigest()


def detect_format(document: str) -> str | None:
    head = document.lstrip()[:200].lower()
    if head.startswith("<!doctype html") or head.startswith("<html"):
        return "html"
    if head.startswith("{"):
        return "json"
    if head.startswith("---"):
        return "md"
    return None


def read_provenance(document: str) -> dict[str, Any] | None:
    """The provenance object a report carries, or None when the text is not a Riskboard report."""
    kind = detect_format(document)
    try:
        if kind == "html":
            match = HTML_BLOCK.search(document)
            return json.loads(match.group(1)) if match else None
        if kind == "md":
            match = MD_BLOCK.search(document)
            return json.loads(match.group(1)) if match else None
        if kind == "json":
            body = json.loads(document)
            return body.get("provenance") if isinstance(body, dict) and body.get("format") == "riskboard.report" \
                else None
    except (ValueError, AttributeError):
        return None
    return None
