"""The one policy for analysis results cached beside a run (explanations, fairness reports, membership audits).

* A cache file that is missing, torn, altered or unparseable is never shown: the reader gets None and the analysis
  is recomputed. A damaged file is discarded so the recomputed result can take its place; on a read-only workspace
  it cannot be discarded and is simply not used.
* Writing a result to a read-only (or full) workspace does not fail the analysis: the numbers are still returned,
  just not cached.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TypeVar

from core.errors import ArtifactError, WorkspaceError
from core.runs._artifacts import RunArtifacts

T = TypeVar("T")

#: What a damaged or foreign cache file raises while it is read and parsed back into a result object.
DAMAGED = (ArtifactError, KeyError, TypeError, ValueError, AttributeError)


def read_cache(arts: RunArtifacts, names: Sequence[str], parse: Callable[[], T], *,
               discard: bool = True) -> T | None:
    """``parse()`` of the cached files ``names``, or None when one is absent or any is damaged.

    ``discard=False`` leaves a damaged file in place: readers that only present results (the report, which must
    not change the run it describes) skip it, and the analysis that owns it replaces it when next run."""
    if not all(arts.has(name) for name in names):
        return None
    try:
        return parse()
    except DAMAGED:
        if not discard:
            return None
        with contextlib.suppress(WorkspaceError):
            for name in names:
                arts.discard(name)
        return None


def write_cache(write: Callable[[], None]) -> bool:
    """Run ``write`` (the result's files, metadata last); False when the workspace cannot be written."""
    try:
        write()
    except WorkspaceError:
        return False
    return True
