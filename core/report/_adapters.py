"""One small adapter per analysis: read that analysis's cached result for a run, in its command-line JSON shape.

The report presents what the Explain, Fairness and Privacy analyses computed; it never computes them again and
never starts minutes of work on its own. Each adapter reads the analysis's cached run artifacts and returns the
same object its ``--json`` command prints (the contracts of ``explain``, ``fairness`` and ``audit``), or None when
that analysis has not been run for this run yet (or is not part of this build). The section then says so and
names the command that runs it (:func:`command_for`).

The training side of privacy is always known: a run trained without differential privacy has no epsilon at all
(reported as infinity), which :func:`privacy_for` says rather than leaving blank.
"""

from __future__ import annotations

import importlib.util
import math
import shlex
from typing import Any

from core.errors import ArtifactError
from core.runs import RunRecord, RunStore

PRIVACY_JSON = "privacy.json"


def _available(module: str) -> bool:
    """True when the analysis package is part of this build (it lands with its own issue)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _cached(arts, prefix: str) -> list[str]:
    """Names of the run's listed cache files ``<prefix>-*.json``, oldest first (the newest result wins)."""
    names = [n for n in (arts.manifest() or {}) if n.startswith(f"{prefix}-") and n.endswith(".json")]
    return sorted(names, key=lambda n: (arts.folder / n).stat().st_mtime if (arts.folder / n).is_file() else 0.0)


def explanation_for(store: RunStore, record: RunRecord) -> dict[str, Any] | None:
    """The ``explain --json`` object of the run's cached explanation, or None when none is cached."""
    if record.is_imported or not _available("core.explain"):
        return None
    return None  # wired to core.explain's cache once that analysis lands on main


def fairness_for(store: RunStore, record: RunRecord) -> dict[str, dict[str, Any]] | None:
    """``{slicing: fairness --json object}`` for every cached slicing of the run, or None when none is cached.

    Reads the ``fairness-<key>.json`` files :func:`core.fairness.run_fairness` caches (one per choice of columns,
    resamples and seed); when a slicing was computed more than once, the newest result is shown. A damaged cache
    file is skipped here (the Fairness page discards and recomputes it).
    """
    from core.cli.fairness import slicing_payload
    from core.fairness import FairnessReport

    arts = store.artifacts(record.id)
    if not arts.exists():
        return None
    found: dict[str, dict[str, Any]] = {}
    for name in _cached(arts, "fairness"):
        try:
            reports = arts.read_json(name)["reports"]
            for slicing, body in reports.items():
                found[str(slicing)] = {"run_id": record.id, **slicing_payload(FairnessReport.from_dict(body))}
        except (ArtifactError, KeyError, TypeError, ValueError, AttributeError):
            continue
    return found or None


def audit_for(store: RunStore, record: RunRecord) -> dict[str, Any] | None:
    """The ``audit --json`` object of the run's strongest cached membership audit, or None."""
    if record.is_imported or not _available("core.privacy"):
        return None
    return None  # wired to core.privacy's cache once that analysis lands on main


def privacy_for(store: RunStore, record: RunRecord) -> dict[str, Any]:
    """``{"private", "epsilon", "delta", "accountant", ...}`` as ``train --json`` reports them.

    ``epsilon`` is None for a run without differential privacy (JSON has no infinity); ``private`` says which.
    """
    metrics = record.metrics or {}
    epsilon = metrics.get("epsilon")
    if record.is_imported or not isinstance(epsilon, int | float) or not math.isfinite(epsilon):
        return {"private": False, "epsilon": None, "delta": None, "accountant": None}
    out: dict[str, Any] = {"private": True, "epsilon": float(epsilon), "delta": metrics.get("delta"),
                           "accountant": None}
    for key in ("noise_multiplier", "max_grad_norm", "sample_rate", "target_epsilon"):
        if metrics.get(key) is not None:
            out[key] = metrics[key]
    arts = store.artifacts(record.id)
    if arts.has(PRIVACY_JSON):
        detail = arts.read_json(PRIVACY_JSON)
        if isinstance(detail, dict):
            out["accountant"] = detail.get("accountant")
            if detail.get("accountant_note"):
                out["accountant_note"] = detail["accountant_note"]
    return out


def command_for(analysis: str, run_id: str, *, sensitive: tuple[str, ...] = ()) -> str:
    """The exact command that computes a missing analysis for this run (and caches it where the report reads)."""
    if analysis == "explain":
        return f"python -m core explain {run_id}"
    if analysis == "fairness":
        columns = " ".join(f"--sensitive {shlex.quote(c)}" for c in sensitive) or "--sensitive COLUMN"
        return f"python -m core fairness {run_id} {columns}"
    if analysis == "audit":
        return f"python -m core audit {run_id}"
    raise ValueError(f"unknown analysis {analysis!r}")
