"""Load an uploaded (ONNX) model's run for explanations and the what-if editor.

When the graph is a plain linear model or MLP (checked at import against onnxruntime, ``fast_path`` in
``onnx_model.json``), its weights are rebuilt as torch layers and wrapped in the same
:class:`~core.explain._whatif.Scorer` as a model trained here, so the exact closed form or batched DeepLIFT apply.
Otherwise an :class:`~core.explain._agnostic.AgnosticScorer` runs the model through onnxruntime and explains it with
shap's model-agnostic explainers. The background pool is the rows the user marked as the model's training rows, or,
without them, the evaluated rows themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import get_settings
from core.data.spec import DatasetSpec, sensitive_groups
from core.data.store import DatasetStore
from core.errors import ArtifactError
from core.explain._agnostic import AgnosticScorer
from core.explain._whatif import Scorer
from core.training import artifacts

NO_TRAINING_ROWS = ("No members column was given at import, so the background is drawn from the evaluated rows, not "
                    "from the model's training rows.")


def original_units(frame: pd.DataFrame, mapping) -> pd.DataFrame:
    """The model's feature columns as the editor and explainers expect: numbers as float64, text as objects."""
    columns = {}
    for name in mapping.columns:
        values = frame[name]
        if name in mapping.numeric:
            columns[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            columns[name] = values.astype("object").where(values.notna(), None)
    return pd.DataFrame(columns, index=frame.index)


def fast_module(model):
    """The rebuilt torch layers of a plain linear model / MLP graph, or None."""
    import onnx

    from core.models._onnx_torch import to_torch

    return to_torch(onnx.load_model_from_string(model.data), model.output)


def uploaded_scorer(model, detail: dict, *, threshold: float, positive: str):
    output = f"log-odds of '{positive}'"
    module = fast_module(model) if detail.get("fast_path") else None
    if module is not None:
        return Scorer(model=module, preprocessor=model.mapping, threshold=threshold, output_index=0, sign=1.0,
                      output=output)
    return AgnosticScorer(model=model, preprocessor=model.mapping, threshold=threshold, output=output)


def load_uploaded(store, record) -> dict:
    """The fields of an :class:`~core.explain._run.ExplainableRun` for a run of kind ``uploaded``."""
    arts = store.artifacts(record.id)
    arts.require_folder()
    model = artifacts.load_onnx_model(arts, limit_bytes=get_settings().max_model_bytes)
    detail = artifacts.onnx_detail(arts)
    split = artifacts.load_split(arts)
    classes, positive_index = artifacts.load_labels(arts)
    if len(classes) != 2:
        raise ArtifactError(f"this run's files are damaged: {artifacts.LABELS_JSON}; delete the run and import "
                            "the model again.")
    spec = DatasetSpec.from_dict(record.spec)
    frame = DatasetStore(store.home).load(record.dataset_id)
    prepared = original_units(frame, model.mapping)
    pool = split.train if len(split.train) else split.test
    scorer = uploaded_scorer(model, detail, threshold=float((record.config or {}).get("threshold", 0.5)),
                             positive=classes[positive_index])
    test_frame = frame.iloc[split.test]
    groups = pd.DataFrame({s.column: sensitive_groups(test_frame, s).to_numpy() for s in spec.sensitive},
                          index=prepared.index[split.test])
    return {"run_id": record.id, "scorer": scorer, "test": prepared.iloc[split.test],
            "train": prepared.iloc[np.asarray(pool)], "classes": classes, "positive_index": positive_index,
            "sensitive": tuple(s.column for s in spec.sensitive), "n_dataset_rows": len(frame),
            "test_groups": groups, "uploaded": model, "pool_note": "" if len(split.train) else NO_TRAINING_ROWS}
