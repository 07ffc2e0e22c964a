"""A run's data, read one way: the table and its column kinds, the rows a spec keeps and how they split, the
features prepared for the preprocessor, and (for a trained run) the stored model, preprocessor, split and labels.

Training and the reductions mitigation build a run from its spec (:func:`training_data`) and store what they
produced with :func:`save_outputs`; every analysis that needs a trained run back (explanations, the membership
audit, threshold post-processing) calls :func:`load_trained_run`. Checks of kind and status stay with each analysis,
which knows how to say what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.spec import DatasetSpec, Labels, encode_labels, validate_spec
from core.data.store import DatasetStore
from core.models.preprocess import TabularPreprocessor
from core.models.split import SplitIndices, stratified_split
from core.runs import RunArtifacts, RunRecord
from core.training import artifacts
from core.training.config import TrainConfig

if TYPE_CHECKING:  # torch is imported where a model is loaded: a run read for its stored scores needs none
    from torch import nn

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
        preprocessor.fit(prepared.frame, self.rows.train)
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
                 predicted: np.ndarray, evaluation: dict[str, Any],
                 row_scores: tuple[int, np.ndarray, np.ndarray] | None = None) -> None:
    """Store what every view of a run reads: preprocessor, split, labels, test scores and the evaluation.

    ``row_scores`` (the table's row count and the training and validation rows' class probabilities) stores the
    model's scores of every split row beside them, so the loss audit never scores the table again."""
    artifacts.save_preprocessor(arts, preprocessor)
    artifacts.save_split(arts, rows)
    if row_scores is not None:
        n_rows, proba_train, proba_val = row_scores
        artifacts.save_row_scores(arts, n_rows, [(rows.train, proba_train), (rows.val, proba_val),
                                                 (rows.test, proba)])
    artifacts.save_labels(arts, classes, positive_index)
    artifacts.save_test_scores(arts, rows.test, y_test, proba, positive_index=positive_index, predicted=predicted)
    artifacts.save_evaluation(arts, evaluation)


@dataclass(frozen=True)
class TrainedRun:
    """A trained run read back: its record and files, spec, config, split and labels, the stored table's columns
    it needs, and (loaded when first asked for) the model, the preprocessor and the features prepared the way
    training prepared them. A run loaded without features holds only the target and sensitive columns: enough for
    analyses that read the stored scores (:meth:`row_scores`) instead of scoring rows again."""

    record: RunRecord
    arts: RunArtifacts
    spec: DatasetSpec
    config: TrainConfig
    frame: pd.DataFrame
    kinds: dict[str, str]
    split: SplitIndices
    classes: tuple[str, ...]
    positive_index: int

    @cached_property
    def model(self) -> nn.Module:
        return artifacts.load_model(self.arts)

    @cached_property
    def preprocessor(self) -> TabularPreprocessor:
        return artifacts.load_preprocessor(self.arts)

    @cached_property
    def prepared(self) -> PreparedData:
        missing = [c for c in self.spec.features if c not in self.frame.columns]
        if missing:
            raise ValueError(f"this run was loaded without its features ({', '.join(missing[:3])}, ...)")
        return prepare_features(self.frame, self.spec.features, self.kinds)

    def features(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Prepared features in the preprocessor's column order (all rows, or the given row numbers)."""
        frame = self.prepared.frame[self.preprocessor.columns]
        return frame if rows is None else frame.iloc[rows]

    def encode(self, rows: np.ndarray) -> np.ndarray:
        """The model's input matrix for the given row numbers of the stored table."""
        return self.preprocessor.transform(self.prepared.frame, rows)

    def row_scores(self) -> np.ndarray | None:
        """The class probabilities training stored for every split row (``artifacts.load_row_scores``), or None
        for a run stored before they were kept."""
        return artifacts.load_row_scores(self.arts)


def load_trained_run(store: Any, run_id: str, *, what: str, features: bool = True,
                     rows: np.ndarray | None = None) -> TrainedRun:
    """Everything an analysis needs from a run trained here (``what`` names the analysis in errors: a mixture of
    models from reductions has no single model to ``what``).

    ``features=False`` reads only the target and sensitive columns and neither the model nor the preprocessor
    (an analysis that reads the stored scores); otherwise the model and preprocessor are read (and checked) now.
    ``rows`` (sorted row numbers) keeps only those rows of the table, indexed by their row number (select them with
    ``.loc``): an analysis of a sample prepares the sample, not a million rows."""
    record = store.get(run_id)
    arts = store.artifacts(run_id)
    arts.require_folder()
    artifacts.require_single_model(record, arts, what)
    split = artifacts.load_split(arts)
    classes, positive_index = artifacts.load_labels(arts)
    spec = DatasetSpec.from_dict(record.spec)
    columns = spec_columns(spec) if features else list(dict.fromkeys([spec.target, *spec.sensitive_columns]))
    frame, kinds = load_table(store.home, record.dataset_id, columns)
    if rows is not None:
        frame = frame.iloc[rows]
    run = TrainedRun(record=record, arts=arts, spec=spec, config=TrainConfig.from_dict(record.config), frame=frame,
                     kinds=kinds, split=split, classes=classes, positive_index=positive_index)
    if features:  # read (and check) the model files now, as every caller that encodes rows scores them too
        _ = run.model, run.preprocessor, run.prepared
    return run
