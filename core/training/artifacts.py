"""What a finished training run leaves on disk, and how later pages load it back safely.

Files in the run's artifact folder (JSON, Parquet and safetensors only; nothing is ever unpickled):

- ``model.safetensors`` weights, ``model.json`` the architecture to rebuild the module
- ``preprocessor.json`` the fitted preprocessing, ``labels.json`` class names and the positive class
- ``split.json`` original row numbers of the train/validation/test rows
- ``test_scores.parquet`` per test row: original row, true class, positive-class score, predicted class
- ``evaluation.json`` test metrics and curves
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from core.errors import RunNotFoundError
from core.models.modules import build_model
from core.models.preprocess import TabularPreprocessor
from core.training.config import TrainConfig

MODEL_WEIGHTS = "model.safetensors"
MODEL_JSON = "model.json"
PREPROCESSOR_JSON = "preprocessor.json"
LABELS_JSON = "labels.json"
SPLIT_JSON = "split.json"
TEST_SCORES = "test_scores.parquet"
EVALUATION_JSON = "evaluation.json"


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=1, allow_nan=True), encoding="utf-8")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise RunNotFoundError(f"The run has no {path.name}; it did not finish training. Pick a succeeded run.")
    return json.loads(path.read_text(encoding="utf-8"))


def save_model(folder: Path, model: torch.nn.Module, *, config: TrainConfig, n_inputs: int, n_outputs: int) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / MODEL_WEIGHTS))
    _write_json(folder / MODEL_JSON, {"config": config.to_dict(), "n_inputs": n_inputs, "n_outputs": n_outputs})


def load_model(folder: Path) -> torch.nn.Module:
    """Rebuild the module from its JSON description and load weights from safetensors (no pickle involved)."""
    spec = _read_json(folder / MODEL_JSON)
    config = TrainConfig.from_dict(spec["config"])
    model = build_model(config, int(spec["n_inputs"]), int(spec["n_outputs"]))
    model.load_state_dict(load_file(str(folder / MODEL_WEIGHTS)))
    return model.eval()


def save_preprocessor(folder: Path, preprocessor: TabularPreprocessor) -> None:
    (folder / PREPROCESSOR_JSON).write_text(preprocessor.to_json(), encoding="utf-8")


def load_preprocessor(folder: Path) -> TabularPreprocessor:
    path = folder / PREPROCESSOR_JSON
    if not path.is_file():
        raise RunNotFoundError("The run has no saved preprocessing; it did not finish training.")
    return TabularPreprocessor.from_json(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class RunSplit:
    """Original row numbers (positions in the stored dataset) of each split."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def to_dict(self) -> dict:
        return {k: getattr(self, k).astype(int).tolist() for k in ("train", "val", "test")}

    @classmethod
    def from_dict(cls, data: dict) -> RunSplit:
        return cls(**{k: np.asarray(data[k], dtype=np.int64) for k in ("train", "val", "test")})


def save_split(folder: Path, split: RunSplit) -> None:
    _write_json(folder / SPLIT_JSON, split.to_dict())


def load_split(folder: Path) -> RunSplit:
    return RunSplit.from_dict(_read_json(folder / SPLIT_JSON))


def save_labels(folder: Path, classes: tuple[str, ...], positive_index: int) -> None:
    _write_json(folder / LABELS_JSON, {"classes": list(classes), "positive_index": positive_index})


def load_labels(folder: Path) -> tuple[tuple[str, ...], int]:
    data = _read_json(folder / LABELS_JSON)
    return tuple(data["classes"]), int(data["positive_index"])


def save_test_scores(folder: Path, rows: np.ndarray, y_true: np.ndarray, proba: np.ndarray, *,
                     positive_index: int, predicted: np.ndarray) -> None:
    pd.DataFrame({"row": rows.astype(np.int64), "y_true": y_true.astype(np.int64),
                  "score": proba[:, positive_index].astype(np.float64),
                  "predicted": predicted.astype(np.int64)}).to_parquet(folder / TEST_SCORES, index=False)


def load_test_scores(folder: Path) -> pd.DataFrame:
    path = folder / TEST_SCORES
    if not path.is_file():
        raise RunNotFoundError("The run has no test scores; it did not finish training.")
    return pd.read_parquet(path)


def save_evaluation(folder: Path, evaluation: dict) -> None:
    _write_json(folder / EVALUATION_JSON, evaluation)


def load_evaluation(folder: Path) -> dict:
    return _read_json(folder / EVALUATION_JSON)
