"""A run's data, read one way: the table and its column kinds, the rows a spec keeps and how they split, the
features prepared for the preprocessor, and (for a trained run) the stored model, preprocessor, split and labels.

Training and the reductions mitigation build a run from its spec (:func:`training_data`) and store what they
produced with :func:`save_outputs`; every analysis that needs a trained run back (explanations, the membership
audit, threshold post-processing) calls :func:`load_trained_run`. Checks of kind and status stay with each analysis,
which knows how to say what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from core.data.spec import DatasetSpec, Labels, encode_labels, validate_spec
from core.data.store import DatasetStore
from core.models.preprocess import TabularPreprocessor
from core.models.split import SplitIndices, stratified_split
from core.runs import RunArtifacts, RunRecord
from core.training import artifacts
from core.training.config import TrainConfig

NUMERIC_KINDS = {"numeric"}
DATETIME_KINDS = {"datetime"}


@dataclass(frozen=True)
class PreparedData:
    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]


def prepare_features(frame: pd.DataFrame, features: tuple[str, ...], kinds: dict[str, str]) -> PreparedData:
    """Split features into numeric and categorical; dates become numbers (days since 1970) so order is kept."""
    numeric, categorical, columns = [], [], {}
    for name in features:
        values = frame[name]
        kind = kinds.get(name, "")
        if kind in DATETIME_KINDS:
            stamps = pd.to_datetime(values, errors="coerce", utc=True)
            columns[name] = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds() / 86400.0
            numeric.append(name)
        elif kind in NUMERIC_KINDS and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            columns[name] = values.astype("float64")
            numeric.append(name)
        else:
            columns[name] = _as_objects(values)
            categorical.append(name)
    # copy=False: the columns are new arrays already; consolidating them into one block copies the table again
    return PreparedData(pd.DataFrame(columns, index=frame.index, copy=False), numeric, categorical)


def _as_objects(values: pd.Series) -> pd.Series:
    """``values`` as Python objects with ``None`` for missing, one object per distinct value spread by its codes:
    a million cells of a few levels cost a few objects and an index, not a million conversions."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells
        return values.astype("object").where(values.notna(), None)
    objects = np.append(np.asarray(uniques, dtype=object), None)  # code -1 (missing) picks the trailing None
    return pd.Series(objects[codes], index=values.index, name=values.name, dtype="object")


def spec_columns(spec: DatasetSpec) -> list[str]:
    """The columns a trained run's analyses read from its table: target, features and sensitive columns."""
    return [spec.target, *spec.features, *spec.sensitive_columns]


def load_table(home: Any, dataset_id: str, columns: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The stored table (or only ``columns`` of it) and each column's kind (numeric, categorical, datetime, ...) as
    its schema says."""
    datasets = DatasetStore(home)
    frame = datasets.load(dataset_id, columns=columns)
    return frame, {c["name"]: c["kind"] for c in datasets.meta(dataset_id).schema["columns"]}


@dataclass
class TrainingData:
    """A spec's rows as training sees them: ``split`` indexes the labelled rows, ``rows`` the stored table."""

    frame: pd.DataFrame
    kinds: dict[str, str]
    labels: Labels
    split: SplitIndices  # positions among the labelled rows (index ``labels.y``)
    rows: SplitIndices  # the same parts as row numbers of the stored table

    def prepare(self, spec: DatasetSpec) -> tuple[PreparedData, TabularPreprocessor]:
        """The prepared features and a preprocessor fitted on the training rows only."""
        prepared = prepare_features(self.frame, spec.features, self.kinds)
        preprocessor = TabularPreprocessor(numeric=prepared.numeric, categorical=prepared.categorical)
        preprocessor.fit(prepared.frame.iloc[self.rows.train])
        return prepared, preprocessor

    def release_table(self) -> None:
        """Drop the raw table once the features are prepared (frees memory on big uploads)."""
        self.frame = self.frame.iloc[:0]


def training_data(home: Any, spec: DatasetSpec, config: TrainConfig) -> TrainingData:
    """Load the spec's table, check the spec against it, encode the labels and split them (seeded, stratified)."""
    frame, kinds = load_table(home, spec.dataset_id)  # whole: a mitigation may weigh by a column outside the spec
    validate_spec(frame, spec)
    labels = encode_labels(frame, spec)
    kept = np.flatnonzero(labels.kept)
    split = stratified_split(labels.y, val_fraction=config.val_fraction, test_fraction=config.test_fraction,
                             seed=config.seed)
    rows = SplitIndices(train=kept[split.train], val=kept[split.val], test=kept[split.test])
    return TrainingData(frame=frame, kinds=kinds, labels=labels, split=split, rows=rows)


def save_outputs(arts: RunArtifacts, *, preprocessor: TabularPreprocessor, rows: SplitIndices,
                 classes: tuple[str, ...], positive_index: int, y_test: np.ndarray, proba: np.ndarray,
                 predicted: np.ndarray, evaluation: dict[str, Any]) -> None:
    """Store what every view of a run reads: preprocessor, split, labels, test scores and the evaluation."""
    artifacts.save_preprocessor(arts, preprocessor)
    artifacts.save_split(arts, rows)
    artifacts.save_labels(arts, classes, positive_index)
    artifacts.save_test_scores(arts, rows.test, y_test, proba, positive_index=positive_index, predicted=predicted)
    artifacts.save_evaluation(arts, evaluation)


@dataclass(frozen=True)
class TrainedRun:
    """A trained run read back: its record and files, model, preprocessor, split, labels, spec, config and the
    stored table with its features prepared the way training prepared them."""

    record: RunRecord
    arts: RunArtifacts
    spec: DatasetSpec
    config: TrainConfig
    frame: pd.DataFrame
    prepared: PreparedData
    model: nn.Module
    preprocessor: TabularPreprocessor
    split: SplitIndices
    classes: tuple[str, ...]
    positive_index: int

    def features(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Prepared features in the preprocessor's column order (all rows, or the given row numbers)."""
        frame = self.prepared.frame[self.preprocessor.columns]
        return frame if rows is None else frame.iloc[rows]

    def encode(self, rows: np.ndarray) -> np.ndarray:
        """The model's input matrix for the given row numbers of the stored table."""
        return self.preprocessor.transform(self.prepared.frame.iloc[rows])


def load_trained_run(store: Any, run_id: str, *, what: str) -> TrainedRun:
    """Everything an analysis needs from a run trained here (``what`` names the analysis in errors: a mixture of
    models from reductions has no single model to ``what``)."""
    record = store.get(run_id)
    arts = store.artifacts(run_id)
    arts.require_folder()
    artifacts.require_single_model(record, arts, what)
    model = artifacts.load_model(arts)
    preprocessor = artifacts.load_preprocessor(arts)
    split = artifacts.load_split(arts)
    classes, positive_index = artifacts.load_labels(arts)
    spec = DatasetSpec.from_dict(record.spec)
    frame, kinds = load_table(store.home, record.dataset_id, spec_columns(spec))
    return TrainedRun(record=record, arts=arts, spec=spec, config=TrainConfig.from_dict(record.config), frame=frame,
                      prepared=prepare_features(frame, spec.features, kinds), model=model, preprocessor=preprocessor,
                      split=split, classes=classes, positive_index=positive_index)
