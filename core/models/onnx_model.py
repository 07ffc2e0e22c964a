"""A model trained elsewhere, uploaded as ONNX: checked (:mod:`core.models._onnx_checks`), mapped to the table's
columns (:mod:`core.models._onnx_inputs`) and run with ``onnxruntime`` (CUDA when present, else CPU).

:class:`OnnxModel` is the one "scorer" every view of an uploaded model uses: ``positive_probability(frame)`` and
``predict_proba(frame)`` over a table in original units. Which output holds the probabilities, and which of its
columns is the positive class, is decided once (:func:`choose_output`) and stored with the run, so every later view
reads the same number. Nothing is ever unpickled: ONNX is a protobuf graph of standard operators.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ModelImportError
from core.models._onnx_checks import load_checked
from core.models._onnx_inputs import InputMapping, build_mapping

CHUNK_ROWS = 65_536
PROBABILITY_TOLERANCE = 1e-4
CLASSIFIER_OPS = ("LinearClassifier", "TreeEnsembleClassifier", "SVMClassifier")
NO_RUNTIME = "onnxruntime cannot run this model ({why}); re-export it with a current converter and opset."
RUN_FAILED = "onnxruntime failed while scoring the table ({why}); check that the columns match the model's inputs."
NO_PROBABILITIES = ("The model has no output of class probabilities (outputs: {outputs}). Export a classifier whose "
                    "output ends in a Sigmoid or Softmax (skl2onnx: a classifier; torch: add nn.Sigmoid()).")
MULTICLASS = ("The model's output {name!r} has {k} classes; Riskboard audits uploaded binary classifiers only. "
              "Give a model with one probability or two class probabilities.")
NOT_PROBABILITY = ("The model's output {name!r} is not a probability: values run from {low:g} to {high:g}{sums}. "
                   "End the graph with a Sigmoid (one output) or Softmax (two outputs), or convert the classifier "
                   "with its probabilities (skl2onnx options={{'zipmap': False}}).")
NOT_FINITE = ("The model returned no finite probability for {n:,} of {total:,} rows (e.g. row {row}); rows with "
              "missing values are the usual cause: fill them as the model expects before uploading.")
CLASS_GUESS = "The model does not name its classes; its class 1 (second column) is read as {positive!r}."
SINGLE_GUESS = "The model gives one probability; it is read as the probability of {positive!r}."


@dataclass(frozen=True)
class OutputChoice:
    """The output holding probabilities and how to read the positive class out of it."""

    name: str
    layout: str  # "two" ([N, 2] tensor), "one" ([N] or [N, 1] tensor) or "map" (ZipMap: a list of dicts)
    column: Any  # index into the two columns, or the ZipMap key, of the positive class
    classes: tuple[str, ...] | None  # the model's own class labels, when it names them
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        column = self.column.item() if isinstance(self.column, np.generic) else self.column
        return {"name": self.name, "layout": self.layout, "column": column,
                "classes": list(self.classes) if self.classes is not None else None, "note": self.note}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutputChoice:
        classes = data.get("classes")
        return cls(str(data["name"]), str(data["layout"]), data["column"],
                   tuple(map(str, classes)) if classes is not None else None, str(data.get("note", "")))


def _runtime_errors() -> tuple[type[BaseException], ...]:
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return (state.Fail, state.InvalidGraph, state.NotImplemented, state.InvalidArgument, state.RuntimeException,
            state.InvalidProtobuf, RuntimeError, ValueError)


def providers() -> list[str]:
    """CUDA when onnxruntime was built with it, always with the CPU as fallback."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def open_session(data: bytes) -> Any:
    """An ``onnxruntime.InferenceSession`` on the model's bytes (never a path: no external file is opened)."""
    import onnxruntime as ort

    from core.device import training_threads

    options = ort.SessionOptions()
    options.intra_op_num_threads = training_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(data, sess_options=options, providers=providers())
    except _runtime_errors() as exc:
        raise ModelImportError(NO_RUNTIME.format(why=" ".join(str(exc).split())[:200])) from None


def model_classes(proto: Any) -> tuple[str, ...] | None:
    """Class labels a converted classifier carries (``classlabels_ints`` / ``classlabels_strings``), if any."""
    import onnx

    for node in proto.graph.node:
        if node.op_type in CLASSIFIER_OPS and node.domain == "ai.onnx.ml":
            for attribute in node.attribute:
                if attribute.name in ("classlabels_ints", "classlabels_strings"):
                    values = onnx.helper.get_attribute_value(attribute)
                    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values)
    return None


def choose_output(session: Any, proto: Any, classes: tuple[str, str]) -> OutputChoice:
    """The probability output and the positive class's column; ``classes`` = the table's (negative, positive)."""
    outputs = session.get_outputs()
    names = ", ".join(repr(o.name) for o in outputs)
    tensors = [o for o in outputs if o.type in ("tensor(float)", "tensor(double)")]
    maps = [o for o in outputs if o.type.startswith("seq(map(")]
    tensors.sort(key=lambda o: "prob" not in o.name.lower())
    labels = model_classes(proto)
    negative, positive = classes
    if tensors:
        out = tensors[0]
        width = out.shape[1] if len(out.shape) == 2 and isinstance(out.shape[1], int) else 1 if len(out.shape) == 1 \
            else None
        if width == 1:
            return OutputChoice(out.name, "one", 0, labels, SINGLE_GUESS.format(positive=positive))
        if width is not None and width != 2:
            raise ModelImportError(MULTICLASS.format(name=out.name, k=width))
        if labels is not None and len(labels) == 2 and set(labels) == {negative, positive}:
            return OutputChoice(out.name, "two", labels.index(positive), labels)
        return OutputChoice(out.name, "two", 1, labels, CLASS_GUESS.format(positive=positive))
    if maps:
        if labels is not None and len(labels) != 2:
            raise ModelImportError(MULTICLASS.format(name=maps[0].name, k=len(labels)))
        key = positive if labels and positive in labels else (labels[1] if labels else "1")
        note = "" if labels and positive in labels else CLASS_GUESS.format(positive=positive)
        return OutputChoice(maps[0].name, "map", key, labels, note)
    raise ModelImportError(NO_PROBABILITIES.format(outputs=names))


class OnnxModel:
    """An uploaded model ready to score tables: session, input mapping and output choice."""

    def __init__(self, data: bytes, mapping: InputMapping, output: OutputChoice, *, session: Any = None) -> None:
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.mapping = mapping
        self.output = output
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = open_session(self.data)
        return self._session

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        try:
            result = self.session.run([self.output.name], self.mapping.feeds(frame))[0]
        except _runtime_errors() as exc:
            raise ModelImportError(RUN_FAILED.format(why=" ".join(str(exc).split())[:200])) from None
        if self.output.layout == "map":
            key = str(self.output.column)
            return np.array([next((v for k, v in row.items() if str(k) == key), np.nan) for row in result],
                            dtype=np.float64)
        values = np.asarray(result, dtype=np.float64)
        if self.output.layout == "one":
            return values.reshape(len(frame))
        return values[:, int(self.output.column)]

    def positive_probability(self, frame: pd.DataFrame, *, check: bool = False) -> np.ndarray:
        """Probability of the positive class per row of ``frame`` (columns in original units), in float64."""
        parts = [self._raw(frame.iloc[start:start + CHUNK_ROWS]) for start in range(0, len(frame), CHUNK_ROWS)]
        p = np.concatenate(parts) if parts else np.empty(0)
        if check:
            self.check_probabilities(frame, p)
        return p

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """``[P(negative), P(positive)]`` per row, like scikit-learn's ``predict_proba`` for classes (neg, pos)."""
        p = self.positive_probability(frame)
        return np.column_stack([1 - p, p])

    def check_probabilities(self, frame: pd.DataFrame, p: np.ndarray) -> None:
        """Refuse outputs that are not probabilities (logits, scores) or are missing for some rows."""
        bad = ~np.isfinite(p)
        if bad.any():
            raise ModelImportError(NOT_FINITE.format(n=int(bad.sum()), total=len(p),
                                                     row=frame.index[int(np.flatnonzero(bad)[0])]))
        sums = ""
        if self.output.layout == "two" and len(frame):
            both = np.asarray(self.session.run([self.output.name], self.mapping.feeds(frame.iloc[:1000]))[0],
                              dtype=np.float64)
            total = both.sum(axis=1)
            if np.abs(total - 1).max() > PROBABILITY_TOLERANCE:
                sums = f", and rows sum to {total.min():g}-{total.max():g} instead of 1"
        if len(p) and (p.min() < -PROBABILITY_TOLERANCE or p.max() > 1 + PROBABILITY_TOLERANCE or sums):
            raise ModelImportError(NOT_PROBABILITY.format(name=self.output.name, low=p.min(), high=p.max(),
                                                          sums=sums))
        np.clip(p, 0.0, 1.0, out=p)


def prepare_model(data: bytes, frame: pd.DataFrame, *, classes: tuple[str, str], limit_bytes: int,
                  features: Sequence[str] | None = None, exclude: Sequence[str] = (),
                  name: str = "The file") -> tuple[OnnxModel, Any]:
    """Check the file, map the table's columns to its inputs and choose its probability output.

    Returns the model and the parsed ``onnx.ModelProto`` (for the fast-path conversion). Nothing is written.
    """
    proto = load_checked(data, limit_bytes=limit_bytes, name=name)
    session = open_session(data)
    inputs = [(i.name, i.type, tuple(d if isinstance(d, int) else None for d in i.shape))
              for i in session.get_inputs()]
    mapping = build_mapping(inputs, frame, features=features, exclude=exclude)
    output = choose_output(session, proto, classes)
    return OnnxModel(data, mapping, output, session=session), proto


def load_model(data: bytes, mapping: dict[str, Any], output: dict[str, Any], *, limit_bytes: int) -> OnnxModel:
    """Reopen a stored model (its bytes were checked at import and hash-checked by the run's manifest)."""
    load_checked(data, limit_bytes=max(limit_bytes, len(data)))
    return OnnxModel(data, InputMapping.from_dict(mapping), OutputChoice.from_dict(output))
