"""One small adapter per analysis: read that analysis's cached result for a run, in its command-line JSON shape.

The report presents what the Explain, Fairness and Privacy analyses computed; it never computes them again and
never starts minutes of work on its own. Each adapter reads the analysis's cached run artifacts and returns the
same object its ``--json`` command prints (the contracts of ``explain``, ``fairness`` and ``audit``), or None when
that analysis has not been run for this run yet. The section then says so and names the command that runs it
(:func:`command_for`).

The training side of privacy is always known: a run trained without differential privacy has no epsilon at all
(reported as infinity), which :func:`privacy_for` says rather than leaving blank.
"""

from __future__ import annotations

import shlex
from typing import Any

from core.dp import load_privacy, spent_epsilon
from core.runs import RunRecord, RunStore, read_cache


def _cached(arts, prefix: str) -> list[str]:
    """Names of the run's listed cache files ``<prefix>-*.json``, oldest first (the newest result wins)."""
    names = [n for n in (arts.manifest() or {}) if n.startswith(f"{prefix}-") and n.endswith(".json")]
    return sorted(names, key=lambda n: (arts.folder / n).stat().st_mtime if (arts.folder / n).is_file() else 0.0)


def explanation_for(store: RunStore, record: RunRecord, class_key: int | None = None) -> dict[str, Any] | None:
    """The ``explain --json`` object of the run's newest cached explanation, or None when none is cached.

    Reads the three files :func:`core.explain.explain_run` caches per (rows, background, seed, method) and adds
    ``by_group``: mean |SHAP| per feature within each sensitive group of the explained rows (the cached values
    grouped, nothing recomputed), so a reader sees whether the model leans on different features for different
    groups. ``class_key`` picks the explanations of that class index (None: the positive class's).
    """
    if record.is_imported:
        return None
    from core.explain._cache import read_cached

    arts = store.artifacts(record.id)
    if not arts.exists():
        return None
    for name in reversed(_cached(arts, "explain")):
        key = name.removesuffix(".json")
        if _explained_class(key) != class_key:
            continue
        result = read_cached(arts, (name, f"{key}-values.parquet", f"{key}-data.parquet"), discard=False)
        if result is not None:
            return {**result.payload(record.id), "by_group": _importance_by_group(store, record, result)}
    return None


def _explained_class(key: str) -> int | None:
    """The class index in an explanation cache name (``...-c3``), None for the positive class."""
    last = key.rsplit("-", 1)[-1]
    return int(last[1:]) if last.startswith("c") and last[1:].isdigit() else None


def _importance_by_group(store: RunStore, record: RunRecord, result: Any, top: int = 5) -> dict[str, Any]:
    """``{column: {group: {"rows": n, "top": [{"feature", "mean_abs_shap"}]}}}`` over the explained rows."""
    import numpy as np

    from core.data.spec import DatasetSpec, sensitive_groups
    from core.data.store import DatasetStore

    spec = DatasetSpec.from_dict(record.spec)
    if not spec.sensitive or not len(result.rows):
        return {}
    frame = DatasetStore(store.home).load(record.dataset_id, columns=list(spec.sensitive_columns))
    frame = frame.iloc[np.asarray(result.rows, dtype=np.int64)]
    values = np.abs(np.asarray(result.values))
    names = list(result.feature_names)
    out: dict[str, Any] = {}
    for sensitive in spec.sensitive:
        labels = sensitive_groups(frame, sensitive).to_numpy()
        groups: dict[str, Any] = {}
        for group in sorted(set(labels.tolist()), key=str):
            mask = labels == group
            means = values[mask].mean(axis=0)
            order = np.argsort(-means, kind="stable")[:top]
            groups[str(group)] = {"rows": int(mask.sum()),
                                  "top": [{"feature": names[j], "mean_abs_shap": float(means[j])} for j in order]}
        out[sensitive.column] = groups
    return out


def fairness_for(store: RunStore, record: RunRecord, class_name: str | None = None
                 ) -> dict[str, dict[str, Any]] | None:
    """``{slicing: fairness --json object}`` for every cached slicing of the run, or None when none is cached.

    Reads the ``fairness-<key>.json`` files :func:`core.fairness.run_fairness` caches (one per choice of columns,
    resamples and seed); when a slicing was computed more than once, the newest result is shown. A damaged cache
    file is skipped here (the Fairness page discards and recomputes it). ``class_name`` picks the results of
    that class (one-vs-rest); None, the run's positive class (caches without a class are the positive class's).
    """
    from core.fairness import FairnessReport, slicing_payload

    arts = store.artifacts(record.id)
    if not arts.exists():
        return None
    found: dict[str, dict[str, Any]] = {}
    positive = _positive_name(store, record)
    wanted = positive if class_name is None else str(class_name)
    for name in _cached(arts, "fairness"):
        def load(n: str = name) -> tuple[str, dict[str, Any]]:
            body = arts.read_json(n)
            return str(body.get("class", positive)), {str(s): FairnessReport.from_dict(part)
                                                      for s, part in body["reports"].items()}

        cached = read_cache(arts, (name,), load, discard=False)
        if cached is None or cached[0] != wanted:
            continue
        for slicing, report in cached[1].items():
            found[slicing] = {"run_id": record.id, **slicing_payload(report)}
    return found or None


def _positive_name(store: RunStore, record: RunRecord) -> str:
    return str((record.spec or {}).get("positive_class", ""))


def audit_for(store: RunStore, record: RunRecord) -> dict[str, Any] | None:
    """The ``audit --json`` object of the run's strongest cached membership audit, or None.

    The reference-model attack is stronger than the loss baseline, so a cached reference audit is preferred; among
    audits of one attack, the newest. A damaged cache file is skipped.
    """
    if record.is_imported:
        return None
    from core.privacy import AuditResult

    arts = store.artifacts(record.id)
    if not arts.exists():
        return None
    found: dict[str, dict[str, Any]] = {}
    for name in _cached(arts, "audit"):
        result = read_cache(arts, (name,), lambda n=name: AuditResult.from_dict(arts.read_json(n)), discard=False)
        if result is not None:
            found[result.attack] = result.summary()
    return found.get("reference") or found.get("loss") or next(iter(found.values()), None)


def privacy_for(store: RunStore, record: RunRecord) -> dict[str, Any]:
    """``{"private", "epsilon", "delta", "accountant", ...}`` as ``train --json`` reports them.

    ``epsilon`` is None for a run without differential privacy (JSON has no infinity); ``private`` says which.
    """
    metrics = record.metrics or {}
    epsilon = spent_epsilon(record)
    if epsilon is None:
        return {"private": False, "epsilon": None, "delta": None, "accountant": None}
    out: dict[str, Any] = {"private": True, "epsilon": float(epsilon), "delta": metrics.get("delta"),
                           "accountant": None}
    for key in ("noise_multiplier", "max_grad_norm", "sample_rate", "target_epsilon"):
        if metrics.get(key) is not None:
            out[key] = metrics[key]

    detail = load_privacy(store.artifacts(record.id))
    if isinstance(detail, dict):
        out["accountant"] = detail.get("accountant")
        if detail.get("accountant_note"):
            out["accountant_note"] = detail["accountant_note"]
    return out


def command_for(analysis: str, run_id: str, *, sensitive: tuple[str, ...] = (), uploaded: bool = False) -> str:
    """The exact command that computes a missing analysis for this run (and caches it where the report reads).

    An uploaded model (``uploaded``) can only take the loss attack: the reference attack needs retraining."""
    if analysis == "explain":
        return f"python -m core explain {run_id}"
    if analysis == "fairness":
        columns = " ".join(f"--sensitive {shlex.quote(c)}" for c in sensitive) or "--sensitive COLUMN"
        return f"python -m core fairness {run_id} {columns}"
    if analysis == "audit":
        return f"python -m core audit {run_id}" + (" --attack loss" if uploaded else "")
    raise ValueError(f"unknown analysis {analysis!r}")
