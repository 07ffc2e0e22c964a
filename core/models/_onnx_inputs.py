"""Which table columns feed which input of an ONNX model, checked against the model's names, types and shapes.

Two layouts cover what converters write:

* **one tensor** ``[N, k]`` of numbers (scikit-learn converters, ``torch.onnx.export``): the features, in the order
  given (``--features``), become its ``k`` columns;
* **one input per column** (a converted pipeline with a ColumnTransformer): each input is named after a table column
  and has shape ``[N, 1]`` or ``[N]``; text inputs (``tensor(string)``) take the column as text.

The mapping is a small JSON-able object stored with the run (``onnx_inputs.json``). It also plays the part a fitted
preprocessor plays for a model trained here (``columns``, ``numeric``, ``levels_``, ``transform``, ``groups``), so
the what-if editor, counterfactual search and explanations work on an uploaded model unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ModelImportError

NUMERIC_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
                 "tensor(int32)": np.int32, "tensor(float16)": np.float16}
TEXT_TYPE = "tensor(string)"
MAX_LEVELS = 200
FIXED_BATCH = ("The model's input {name!r} has a fixed batch size of {size} (shape {shape}); re-export it with a "
               "dynamic first axis (dynamic_axes in torch.onnx.export, initial_types [None, k] in skl2onnx).")
BAD_TYPE = ("The model's input {name!r} takes {type}, which Riskboard cannot feed from a table; supported: numbers "
            "(float, double, int32, int64) and text (string).")
BAD_RANK = ("The model's input {name!r} has shape {shape}; a tabular model takes [N, columns] (or [N] for one "
            "column).")
WIDTH = ("The model's input {name!r} takes {width} columns (shape {shape}) but {n} features were given ({shown}); "
         "pass --features with exactly the {width} columns the model was trained on, in its order.")
NOT_COLUMNS = ("The model has inputs {missing} that are not columns of the table (its inputs: {inputs}; the table's "
               "columns include {columns}). Rename the columns to the model's input names, or re-export the model.")
NOT_NUMERIC = ("The model's input {name!r} takes {type} numbers, but column{s} {columns} hold{verb} text (e.g. "
               "{example!r}); give numeric columns or encode them as the model was trained.")
FEATURES_DIFFER = ("The model's inputs are named {inputs}, but the features given are {features}; leave out "
                   "--features or give exactly the model's input names.")
NO_FEATURES = "No feature columns were given or left in the table; pass --features with the model's columns."
MISSING_INTEGERS = ("Column {name!r} has missing values but the model's input {input!r} takes whole numbers "
                    "({type}); fill the missing values first.")
UNKNOWN_COLUMN = "There is no column {name!r} in the table; pick one of: {choices}."


def _shape_text(shape: Sequence[Any]) -> str:
    return "[" + ", ".join("N" if i == 0 and not isinstance(d, int) else str(d) if isinstance(d, int) else "?"
                           for i, d in enumerate(shape)) + "]"


@dataclass(frozen=True)
class ModelInput:
    """One input of the model and the table columns that feed it."""

    name: str
    type: str
    shape: tuple[Any, ...]
    columns: tuple[str, ...]

    @property
    def text(self) -> bool:
        return self.type == TEXT_TYPE

    def row(self) -> dict[str, Any]:
        """A line of the mapping table shown before import."""
        return {"model input": self.name, "type": self.type, "shape": _shape_text(self.shape),
                "table columns": ", ".join(self.columns)}


@dataclass(frozen=True)
class InputMapping:
    """Table columns -> model inputs; also the "preprocessor" of an uploaded model (see the module docstring)."""

    inputs: tuple[ModelInput, ...]
    levels_: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every feature, in the model's input order."""
        return tuple(c for model_input in self.inputs for c in model_input.columns)

    @property
    def numeric(self) -> tuple[str, ...]:
        return tuple(c for i in self.inputs if not i.text for c in i.columns)

    @property
    def single_tensor(self) -> bool:
        """True when every feature goes into one numeric tensor (what the exact fast path needs)."""
        return len(self.inputs) == 1 and not self.inputs[0].text

    def groups(self) -> dict[str, list[int]]:
        return {name: [j] for j, name in enumerate(self.columns)}

    def rows(self) -> list[dict[str, Any]]:
        return [i.row() for i in self.inputs]

    def feeds(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The session's input dict for ``frame`` (one row per table row)."""
        out = {}
        for model_input in self.inputs:
            if model_input.text:
                column = frame[model_input.columns[0]]
                text = column.astype("object").where(column.notna(), "").map(str).to_numpy(dtype=object)
                out[model_input.name] = text.reshape(-1, 1) if len(model_input.shape) == 2 else text
                continue
            dtype = NUMERIC_TYPES[model_input.type]
            matrix = _numbers(frame, model_input.columns)
            if np.issubdtype(dtype, np.integer) and np.isnan(matrix).any():
                bad = model_input.columns[int(np.flatnonzero(np.isnan(matrix).any(axis=0))[0])]
                raise ModelImportError(MISSING_INTEGERS.format(name=bad, input=model_input.name,
                                                               type=model_input.type))
            matrix = matrix.astype(dtype)
            out[model_input.name] = matrix if len(model_input.shape) == 2 else matrix[:, 0]
        return out

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The single numeric input as a float32 matrix (the torch fast path's encoding)."""
        return _numbers(frame, self.columns).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": [{"name": i.name, "type": i.type, "shape": [d if isinstance(d, int) else None
                                                                          for d in i.shape],
                            "columns": list(i.columns)} for i in self.inputs], "levels": self.levels_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputMapping:
        inputs = tuple(ModelInput(str(i["name"]), str(i["type"]), tuple(i["shape"]), tuple(map(str, i["columns"])))
                       for i in data["inputs"])
        return cls(inputs=inputs, levels_={str(k): list(map(str, v)) for k, v in data.get("levels", {}).items()})


def _numbers(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    return np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64) for c in columns]) \
        if len(columns) else np.empty((len(frame), 0))


def _check_numeric(frame: pd.DataFrame, model_input: ModelInput) -> None:
    bad = []
    for name in model_input.columns:
        values = frame[name]
        numbers = pd.to_numeric(values, errors="coerce")
        texty = values.notna() & numbers.isna()
        if texty.any():
            bad.append((name, values[texty].iloc[0]))
    if bad:
        raise ModelImportError(NOT_NUMERIC.format(name=model_input.name, type=model_input.type.removeprefix("tensor"),
                                                  columns=", ".join(repr(n) for n, _ in bad[:5]),
                                                  s="s" if len(bad) > 1 else "", verb="" if len(bad) > 1 else "s",
                                                  example=str(bad[0][1])[:40]))


def _check_input(name: str, type_: str, shape: tuple[Any, ...]) -> None:
    if type_ not in NUMERIC_TYPES and type_ != TEXT_TYPE:
        raise ModelImportError(BAD_TYPE.format(name=name, type=type_))
    if len(shape) not in (1, 2):
        raise ModelImportError(BAD_RANK.format(name=name, shape=_shape_text(shape)))
    if isinstance(shape[0], int) and shape[0] != -1:
        raise ModelImportError(FIXED_BATCH.format(name=name, size=shape[0], shape=_shape_text(shape)))


def _one_tensor(name: str, type_: str, shape: tuple[Any, ...], columns: list[str],
                features: Sequence[str] | None) -> ModelInput:
    chosen = list(features) if features is not None else columns
    if not chosen:
        raise ModelImportError(NO_FEATURES)
    width = shape[1] if len(shape) == 2 and isinstance(shape[1], int) and shape[1] > 0 else None
    if width is not None and width != len(chosen):
        shown = ", ".join(map(repr, chosen[:6])) + (" ..." if len(chosen) > 6 else "")
        raise ModelImportError(WIDTH.format(name=name, width=width, shape=_shape_text(shape), n=len(chosen),
                                            shown=shown))
    return ModelInput(name, type_, shape, tuple(chosen))


def build_mapping(inputs: Sequence[tuple[str, str, tuple[Any, ...]]], frame: pd.DataFrame, *,
                  features: Sequence[str] | None = None, exclude: Sequence[str] = ()) -> InputMapping:
    """Match the model's ``(name, type, shape)`` inputs to the table; a typed error names the first mismatch.

    ``exclude`` (the target and the membership column) never feed the model unless named in ``features``.
    """
    table = [str(c) for c in frame.columns]
    for name in features or ():
        if name not in table:
            raise ModelImportError(UNKNOWN_COLUMN.format(name=name, choices=", ".join(map(repr, table[:10]))))
    for name, type_, shape in inputs:
        _check_input(name, type_, shape)
    per_column = len(inputs) > 1 or (inputs[0][0] in table and (len(inputs[0][2]) == 1 or inputs[0][2][1] == 1)
                                     and (features is None or list(features) == [inputs[0][0]]))
    if per_column:
        missing = [name for name, _, shape in inputs if name not in table]
        if missing:
            raise ModelImportError(NOT_COLUMNS.format(missing=", ".join(map(repr, missing[:5])),
                                                      inputs=", ".join(repr(n) for n, _, _ in inputs[:8]),
                                                      columns=", ".join(map(repr, table[:10]))))
        if features is not None and sorted(features) != sorted(n for n, _, _ in inputs):
            raise ModelImportError(FEATURES_DIFFER.format(inputs=", ".join(repr(n) for n, _, _ in inputs[:8]),
                                                          features=", ".join(map(repr, list(features)[:8]))))
        for name, _, shape in inputs:
            if len(shape) == 2 and isinstance(shape[1], int) and shape[1] not in (1, -1):
                raise ModelImportError(BAD_RANK.format(name=name, shape=_shape_text(shape)))
        mapped = tuple(ModelInput(name, type_, shape, (name,)) for name, type_, shape in inputs)
    else:
        name, type_, shape = inputs[0]
        if type_ == TEXT_TYPE:
            raise ModelImportError(BAD_TYPE.format(name=name, type=type_))
        mapped = (_one_tensor(name, type_, shape, [c for c in table if c not in set(exclude)], features),)
    levels = {}
    for model_input in mapped:
        if model_input.text:
            column = frame[model_input.columns[0]]
            levels[model_input.columns[0]] = column.dropna().astype(str).value_counts().index.tolist()[:MAX_LEVELS]
        else:
            _check_numeric(frame, model_input)
    return InputMapping(inputs=mapped, levels_=levels)
