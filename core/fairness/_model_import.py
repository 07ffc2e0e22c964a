"""Audit the team's own model: an uploaded ONNX file plus a labelled table becomes a run of kind ``"uploaded"``.

Like an import of scores (:mod:`core.fairness._imports`, whose writer this reuses), the run has what evaluation and
fairness read (labels, split, test scores, evaluation). Unlike it, the model itself is kept (``model.onnx``, its
SHA-256 in the manifest, ``onnx_model.json`` with the column-to-input mapping), so explanations, the what-if editor
and the loss membership audit work on it too. Everything a user can get wrong is checked before anything is written
(file, opsets, operators, columns, types, shapes, probabilities), so a refused upload leaves nothing behind.

``members`` names a column saying which rows were in the model's training set: those rows become the run's training
split (evaluation then uses only the other rows) and the loss membership audit compares the two.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.config import get_settings
from core.data.ingest import read_table
from core.data.spec import DatasetSpec, label_text, resolve_positive_class
from core.data.store import DatasetStore
from core.errors import ModelImportError, ScoreImportError
from core.fairness._imports import (
    LABEL_CLASSES,
    _default_positive,
    _require,
    check_scores,
    outside_spec,
    run_metrics,
    write_scored_run,
)
from core.runs import RunKind, RunStatus, RunStore
from core.training import artifacts

TASK = "core.fairness._model_import:execute_model_import"
CHECK_ROWS = 256
MEMBER_TRUE = frozenset({"1", "1.0", "true", "yes", "y", "member", "train", "training", "in"})
MEMBER_FALSE = frozenset({"0", "0.0", "false", "no", "n", "non-member", "nonmember", "test", "holdout", "held-out",
                          "out"})
BAD_MEMBERS = ("The members column {name!r} must say for each row whether it was in the model's training set (1/0, "
               "true/false, yes/no, train/test); found {example!r}.")
ONE_SIDED = ("The members column {name!r} marks {members:,} rows as training rows and {others:,} as not; the audit "
             "and a fair evaluation need both. Give the table with rows from both sides.")
FEATURE_OVERLAP = "The features may not include the target or the members column ({columns}); leave them out."
NOT_STORED = "The model could not be stored as a run: {error}"
EVALUATED_ON = ("Evaluated on the {n:,} rows the members column marks as not in the model's training set; the {m:,} "
                "training rows are kept for the membership audit and as the explanations' background.")
NO_MEMBERS_NOTE = ("No members column was given, so every row is treated as unseen by the model: if some were in "
                   "its training set, these metrics read optimistic, and no membership audit can be run.")


def member_mask(values: pd.Series, name: str) -> np.ndarray:
    """True for rows the column marks as the model's training rows (see :data:`MEMBER_TRUE`)."""
    if values.isna().any():
        raise ModelImportError(BAD_MEMBERS.format(name=name, example="a missing value"))
    text = label_text(values).str.strip().str.casefold()
    known = text.isin(MEMBER_TRUE | MEMBER_FALSE)
    if not known.all():
        raise ModelImportError(BAD_MEMBERS.format(name=name, example=values[~known.to_numpy()].iloc[0]))
    mask = text.isin(MEMBER_TRUE).to_numpy()
    if mask.all() or not mask.any():
        raise ModelImportError(ONE_SIDED.format(name=name, members=int(mask.sum()), others=int((~mask).sum())))
    return mask


def _classes(labels: pd.Series, positive: str) -> tuple[str, str]:
    classes = sorted(label_text(labels).dropna().unique().tolist())
    if len(classes) != 2:
        shown = ", ".join(map(repr, classes[:5])) + (" ..." if len(classes) > 5 else "")
        raise ScoreImportError(LABEL_CLASSES.format(name=labels.name, n=len(classes), shown=shown or "none"))
    return next(c for c in classes if c != positive), positive


@dataclass(frozen=True)
class PreparedImport:
    """Everything checked, nothing written: the model, its reading of the table and the exact fast path."""

    model: Any  # core.models.onnx_model.OnnxModel
    positive: str
    classes: tuple[str, str]
    rows: int
    fast_path: str | None  # "linear" or "mlp" when the graph rebuilds exactly as torch layers, else None
    notes: tuple[str, ...]

    def mapping_rows(self) -> list[dict[str, Any]]:
        return self.model.mapping.rows()


def fast_path(proto: Any, model: Any, frame: pd.DataFrame) -> str | None:
    """"linear" / "mlp" when the graph is a plain linear model or MLP that reproduces onnxruntime, else None."""
    from torch import nn

    from core.models._onnx_torch import matches_runtime, to_torch

    if not model.mapping.single_tensor:
        return None
    module = to_torch(proto, model.output)
    if module is None:
        return None
    sample = frame.iloc[:CHECK_ROWS]
    if not matches_runtime(module, model.mapping.transform(sample), model.positive_probability(sample)):
        return None
    return "linear" if sum(isinstance(m, nn.Linear) for m in module) == 1 else "mlp"


def prepare_import(model_bytes: bytes, frame: pd.DataFrame, *, target: str, positive: str | None = None,
                   features: Sequence[str] | None = None, sensitive: Sequence[str] = (), members: str | None = None,
                   model_name: str = "The model file") -> PreparedImport:
    """Check the model against the table (every check of the import; nothing is stored)."""
    from core.models.onnx_model import prepare_model

    _require(frame, target, "target")
    for column in sensitive:
        _require(frame, column, "sensitive")
    if members is not None:
        _require(frame, members, "members")
        member_mask(frame[members], members)
    positive = resolve_positive_class(frame, target, positive) if positive else _default_positive(frame[target])
    classes = _classes(frame[target], positive)
    exclude = [target] + ([members] if members else [])
    if features is not None and set(features) & set(exclude):
        raise ModelImportError(FEATURE_OVERLAP.format(columns=", ".join(map(repr, exclude))))
    model, proto = prepare_model(model_bytes, frame, classes=classes, limit_bytes=get_settings().max_model_bytes,
                                 features=features, exclude=exclude, name=model_name)
    labelled = frame[label_text(frame[target]).notna().to_numpy()]
    model.positive_probability(labelled, check=True)
    notes = tuple(n for n in (model.output.note,) if n)
    return PreparedImport(model=model, positive=positive, classes=classes, rows=len(labelled),
                          fast_path=fast_path(proto, model, labelled), notes=notes)


def import_model(store: RunStore, model_bytes: bytes, model_name: str, data: bytes, data_name: str, *, target: str,
                 positive: str | None = None, features: Sequence[str] | None = None, sensitive: Sequence[str] = (),
                 members: str | None = None, threshold: float = 0.5, name: str | None = None,
                 run_inline: Callable | None = None) -> tuple[str, PreparedImport]:
    """Check everything, then store the table, the model and a finished ``onnx`` run; returns ``(run_id, checks)``."""
    from core import jobs

    frame = read_table(data, data_name).frame
    prepared = prepare_import(model_bytes, frame, target=target, positive=positive, features=features,
                              sensitive=sensitive, members=members, model_name=model_name)
    datasets = DatasetStore(store.home)
    existed = datasets.exists(hashlib.sha256(data).hexdigest())
    meta = datasets.add(data, data_name)
    stored = datasets.load(meta.id)
    spec = outside_spec(meta, stored, target=target, positive=prepared.positive,
                        features=prepared.model.mapping.columns, sensitive=sensitive,
                        name=name or f"model: {model_name}")
    config = {"source": model_name, "data_source": data_name, "threshold": float(threshold),
              "members_column": members, "model_sha256": prepared.model.sha256}
    run_id = store.create_run(kind=RunKind.UPLOADED, dataset_id=meta.id, spec=spec.to_dict(), config=config,
                              task=TASK, name=spec.name)
    try:
        artifacts.save_onnx_model(store.artifacts(run_id), prepared.model.data, {
            "source": model_name, "sha256": prepared.model.sha256, "mapping": prepared.model.mapping.to_dict(),
            "output": prepared.model.output.to_dict(), "fast_path": prepared.fast_path,
            "notes": list(prepared.notes)})
        (run_inline or jobs.run_inline)(store, run_id, TASK)
        record = store.get(run_id)
        if record.status != RunStatus.SUCCEEDED:
            raise ModelImportError(NOT_STORED.format(error=record.error))
    except BaseException:
        _remove(store, datasets, run_id, None if existed else meta.id)
        raise
    else:
        datasets.save_spec(spec)
    return run_id, prepared


def _remove(store: RunStore, datasets: DatasetStore, run_id: str, dataset_id: str | None) -> None:
    """Undo a failed import: the run, and the table when this import stored it."""
    import contextlib

    from core.errors import RiskboardError

    with contextlib.suppress(RiskboardError, OSError):
        store.delete(run_id)
    if dataset_id is not None:
        with contextlib.suppress(RiskboardError, OSError):
            datasets.delete(dataset_id)


def execute_model_import(store: RunStore, run_id: str, *, should_stop=None) -> dict:
    """The run's task: score the stored table with the stored model and write what every view reads."""
    record = store.get(run_id)
    spec = DatasetSpec.from_dict(record.spec)
    config = record.config or {}
    frame = DatasetStore(store.home).load(spec.dataset_id)
    arts = store.artifacts(run_id)
    model = artifacts.load_onnx_model(arts, limit_bytes=get_settings().max_model_bytes)
    members = config.get("members_column")
    is_member = member_mask(frame[members], members) if members else np.zeros(len(frame), dtype=bool)
    labelled = label_text(frame[spec.target]).notna().to_numpy()
    test = np.flatnonzero(labelled & ~is_member)
    train = np.flatnonzero(labelled & is_member)
    part = frame.iloc[test]
    p = model.positive_probability(part, check=True)
    checked = check_scores(part[spec.target].reset_index(drop=True), pd.Series(p), positive=spec.positive_class,
                           decisions=False, name=model.output.name)
    checked = dataclasses.replace(checked, rows=test[checked.rows])
    evaluation = write_scored_run(arts, checked, threshold=float(config.get("threshold", 0.5)),
                                  train_rows=train if members else None)
    note = EVALUATED_ON.format(n=len(test), m=len(train)) if members else NO_MEMBERS_NOTE
    evaluation["notes"] = [*evaluation.get("notes", []), note, *artifacts.onnx_detail(arts).get("notes", [])]
    artifacts.save_evaluation(arts, evaluation)
    return run_metrics(evaluation, len(test))
