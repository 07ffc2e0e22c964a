"""What a finished training run leaves on disk, and how later pages load it back safely.

Files in the run's artifact folder (JSON, Parquet and safetensors only; nothing is ever unpickled), each written
atomically and listed with its SHA-256 in ``manifest.json`` by :class:`~core.runs.RunArtifacts`:

- ``model.safetensors`` weights, ``model.json`` the architecture to rebuild the module
- ``preprocessor.json`` the fitted preprocessing, ``labels.json`` class names and the positive class
- ``split.npy`` the part of every original row (int8: 0 train, 1 validation, 2 test, -1 none); runs stored
  before it have ``split.json`` (lists of row numbers), which still loads
- ``test_scores.parquet`` per test row: original row, true class, positive-class score, predicted class
- ``evaluation.json`` test metrics and curves
- ``row_scores.npy`` the model's class probabilities (float64, one row per stored row, NaN for rows outside the
  split), scored once at the end of training: the loss audit reads them instead of loading, encoding and scoring
  the table again. Runs stored before it have none; the audit then scores the rows itself, the same way
- for an uploaded model (run kind ``uploaded``): ``model.onnx`` the file as uploaded and ``onnx_model.json`` its
  column-to-input mapping, probability output, SHA-256 and the exact fast path it qualified for

Every loader raises :class:`~core.errors.ArtifactError` naming the file when it is missing, torn or does not parse.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.errors import ArtifactError, RiskboardError
from core.models.preprocess import TabularPreprocessor
from core.models.split import SplitIndices
from core.runs import RunArtifacts
from core.runs._artifacts import DAMAGED
from core.training.config import TrainConfig

if TYPE_CHECKING:  # torch is imported where a model is saved or loaded: reading a run's results needs none of it
    import torch

MODEL_WEIGHTS = "model.safetensors"
MODEL_JSON = "model.json"
PREPROCESSOR_JSON = "preprocessor.json"
LABELS_JSON = "labels.json"
SPLIT_FILE = "split.npy"
SPLIT_JSON = "split.json"  # the split of runs stored before split.npy; read, never written
TEST_SCORES = "test_scores.parquet"
EVALUATION_JSON = "evaluation.json"
ROW_SCORES = "row_scores.npy"
MODEL_ONNX = "model.onnx"
ONNX_JSON = "onnx_model.json"

#: What every succeeded run trained here has; ``runs RUN_ID`` reports the run damaged when one is missing.
TRAINED_RUN_FILES = (MODEL_WEIGHTS, MODEL_JSON, PREPROCESSOR_JSON, LABELS_JSON, SPLIT_FILE, TEST_SCORES,
                     EVALUATION_JSON)

#: What every succeeded run of an uploaded model (kind ``uploaded``) has.
UPLOADED_RUN_FILES = (MODEL_ONNX, ONNX_JSON, LABELS_JSON, SPLIT_FILE, TEST_SCORES, EVALUATION_JSON)

Artifacts = RunArtifacts | Path

#: A run that is a mixture of models (fairlearn's reductions) keeps its members and this file, not one model.
MIXTURE_JSON = "reductions.json"
NO_SINGLE_MODEL = ("run {run_id} is a mixture of several models (fairlearn's reductions), so there is no single model "
                   "to {what}; {what} its parent run{parent} or a reweighted run instead.")
CLASS_SCORE_PREFIX = "proba_"


def require_single_model(record, where: Artifacts, what: str) -> None:
    """A typed error with plain advice when a view that needs one model (explain, audit) meets a mixture run."""
    if _arts(where).has(MIXTURE_JSON):
        parent = f" {record.parent_id}" if getattr(record, "parent_id", None) else ""
        raise RiskboardError(NO_SINGLE_MODEL.format(run_id=record.id, what=what, parent=parent))


def _arts(where: Artifacts) -> RunArtifacts:
    return where if isinstance(where, RunArtifacts) else RunArtifacts(where)


def _damaged(name: str) -> ArtifactError:
    return ArtifactError(DAMAGED.format(names=name))


def save_model(where: Artifacts, model: torch.nn.Module, *, config: TrainConfig, n_inputs: int,
               n_outputs: int) -> None:
    from safetensors.torch import save as save_safetensors

    arts = _arts(where)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    arts.write_bytes(MODEL_WEIGHTS, save_safetensors(state))
    arts.write_json(MODEL_JSON, {"config": config.to_dict(), "n_inputs": n_inputs, "n_outputs": n_outputs})


def load_model(where: Artifacts) -> torch.nn.Module:
    """Rebuild the module from its JSON description and load weights from safetensors (no pickle involved)."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors

    from core.models.modules import build_model

    arts = _arts(where)
    spec = arts.read_json(MODEL_JSON)
    try:
        config = TrainConfig.from_dict(spec["config"])
        model = build_model(config, int(spec["n_inputs"]), int(spec["n_outputs"]))
    except (KeyError, TypeError, ValueError, RiskboardError) as exc:
        raise _damaged(MODEL_JSON) from exc
    try:
        state = load_safetensors(arts.read_bytes(MODEL_WEIGHTS))
        model.load_state_dict(state)
    except (SafetensorError, RuntimeError, ValueError) as exc:
        raise _damaged(MODEL_WEIGHTS) from exc
    return model.eval()


def save_preprocessor(where: Artifacts, preprocessor: TabularPreprocessor) -> None:
    _arts(where).write_text(PREPROCESSOR_JSON, preprocessor.to_json())


def load_preprocessor(where: Artifacts) -> TabularPreprocessor:
    text = _arts(where).read_text(PREPROCESSOR_JSON)
    try:
        return TabularPreprocessor.from_json(text)
    except (RiskboardError, ValueError, KeyError, TypeError) as exc:
        raise _damaged(PREPROCESSOR_JSON) from exc


def save_split(where: Artifacts, split: SplitIndices) -> None:
    _arts(where).write_array(SPLIT_FILE, split.to_codes())


def split_file(where: Artifacts) -> str:
    """The name of the run's split: ``split.npy``, or ``split.json`` for a run stored before it."""
    arts = _arts(where)
    return SPLIT_JSON if arts.has(SPLIT_JSON) and not arts.has(SPLIT_FILE) else SPLIT_FILE


def trained_run_files(where: Artifacts) -> tuple[str, ...]:
    """:data:`TRAINED_RUN_FILES` for this run, with the split's name as it was stored."""
    name = split_file(where)
    return tuple(name if f == SPLIT_FILE else f for f in TRAINED_RUN_FILES)


def load_split(where: Artifacts) -> SplitIndices:
    """The run's split, checked disjoint (members and non-members never overlap)."""
    arts = _arts(where)
    name = split_file(arts)
    try:
        if name == SPLIT_FILE:
            return SplitIndices.from_codes(arts.read_array(SPLIT_FILE))
        return SplitIndices.from_dict(arts.read_json(SPLIT_JSON))
    except RiskboardError as exc:
        if isinstance(exc, ArtifactError):
            raise
        raise _damaged(name) from exc


def save_row_scores(where: Artifacts, n_rows: int, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Store each part's class probabilities (``(rows, probabilities)`` with row numbers of the stored table) in one
    array of ``n_rows`` rows; rows the run never split stay NaN."""
    width = parts[0][1].shape[1]
    scores = np.full((n_rows, width), np.nan, dtype=np.float64)
    for rows, proba in parts:
        scores[np.asarray(rows, dtype=np.int64)] = proba
    _arts(where).write_array(ROW_SCORES, scores)


def load_row_scores(where: Artifacts) -> np.ndarray | None:
    """The stored class probabilities of every row (see :func:`save_row_scores`), or None for a run stored before
    they were kept; a damaged file raises :class:`ArtifactError`."""
    arts = _arts(where)
    if not arts.has(ROW_SCORES):
        return None
    scores = arts.read_array(ROW_SCORES)
    if scores.ndim != 2 or scores.dtype != np.float64:
        raise _damaged(ROW_SCORES)
    return scores


def save_labels(where: Artifacts, classes: tuple[str, ...], positive_index: int) -> None:
    _arts(where).write_json(LABELS_JSON, {"classes": list(classes), "positive_index": positive_index})


def load_labels(where: Artifacts) -> tuple[tuple[str, ...], int]:
    data = _arts(where).read_json(LABELS_JSON)
    try:
        return tuple(str(c) for c in data["classes"]), int(data["positive_index"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(LABELS_JSON) from exc


def save_test_scores(where: Artifacts, rows: np.ndarray, y_true: np.ndarray, proba: np.ndarray, *,
                     positive_index: int, predicted: np.ndarray) -> None:
    columns = {"row": rows.astype(np.int64), "y_true": y_true.astype(np.int64),
               "score": proba[:, positive_index].astype(np.float64), "predicted": predicted.astype(np.int64)}
    if proba.shape[1] > 2:  # every class's probability, so views can look at any class one-vs-rest
        columns |= {f"{CLASS_SCORE_PREFIX}{k}": proba[:, k].astype(np.float64) for k in range(proba.shape[1])}
    _arts(where).write_parquet(TEST_SCORES, pd.DataFrame(columns))


def class_scores(scores: pd.DataFrame, index: int, positive_index: int, n_classes: int) -> np.ndarray | None:
    """The test rows' probability of class ``index`` from :func:`load_test_scores`' frame: the stored column for
    a multiclass run, ``score`` or ``1 - score`` for a binary one; None when the run kept no score for it (runs
    trained before every class's probability was stored)."""
    column = f"{CLASS_SCORE_PREFIX}{index}"
    if column in scores.columns:
        return scores[column].to_numpy(dtype=np.float64)
    if index == positive_index:
        return scores["score"].to_numpy(dtype=np.float64)
    if n_classes == 2:
        return 1.0 - scores["score"].to_numpy(dtype=np.float64)
    return None


def load_test_scores(where: Artifacts) -> pd.DataFrame:
    frame = _arts(where).read_parquet(TEST_SCORES)
    if not {"row", "y_true", "score", "predicted"} <= set(frame.columns):
        raise _damaged(TEST_SCORES)
    return frame


def save_evaluation(where: Artifacts, evaluation: dict) -> None:
    _arts(where).write_json(EVALUATION_JSON, evaluation)


def load_evaluation(where: Artifacts) -> dict:
    data = _arts(where).read_json(EVALUATION_JSON)
    if not isinstance(data, dict) or "metrics" not in data:
        raise _damaged(EVALUATION_JSON)
    return data


def save_onnx_model(where: Artifacts, data: bytes, detail: dict) -> None:
    """The uploaded file, byte for byte (its SHA-256 goes into the manifest), then its description."""
    arts = _arts(where)
    arts.write_bytes(MODEL_ONNX, data)
    arts.write_json(ONNX_JSON, detail)


def onnx_detail(where: Artifacts) -> dict:
    data = _arts(where).read_json(ONNX_JSON)
    if not isinstance(data, dict) or not {"mapping", "output", "sha256"} <= set(data):
        raise _damaged(ONNX_JSON)
    return data


def load_onnx_model(where: Artifacts, *, limit_bytes: int):
    """The uploaded model, re-checked and ready to score (``core.models.onnx_model.OnnxModel``)."""
    from core.models.onnx_model import load_model as load_onnx

    arts = _arts(where)
    detail = onnx_detail(arts)
    data = arts.read_bytes(MODEL_ONNX)
    try:
        model = load_onnx(data, detail["mapping"], detail["output"], limit_bytes=limit_bytes)
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(ONNX_JSON) from exc
    if model.sha256 != detail["sha256"]:
        raise _damaged(MODEL_ONNX)
    return model
