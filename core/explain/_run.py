"""Explain a stored run: load its model, preprocessing and split, explain a seeded sample of its test rows against a
background of its training rows, and cache the result as run artifacts keyed by (rows, background, seed, method).

The cache is three files written through :class:`~core.runs.RunArtifacts` (atomic, hashed in the manifest): the
metadata (JSON), the SHAP values with row ids and scores (Parquet) and the rows in original units (Parquet). A cache
file that is missing, torn or altered is discarded and the explanation recomputed, so a damaged cache never shows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.spec import sensitive_groups
from core.data.store import DatasetStore
from core.device import select_device
from core.errors import ExplainError
from core.explain._agnostic import (
    EXACT_MAX_FEATURES,
    METHOD_EXACT,
    METHOD_PERMUTATION,
    AgnosticScorer,
    explain_agnostic,
)
from core.explain._cache import cache_names, read_cached, write_cached
from core.explain._deeplift import METHOD_DEEPLIFT, METHOD_LINEAR, is_linear, layer_plan
from core.explain._explain import DEFAULT_DRAWS, Progress, background_rows, drawn_pool_rows, explain_rows
from core.explain._result import Attributions
from core.explain._whatif import Scorer
from core.runs import SUCCEEDED
from core.security import activity
from core.training import artifacts
from core.training.classes import class_index
from core.training.run_data import load_table, load_trained_run

METHODS = ("auto", METHOD_DEEPLIFT, METHOD_LINEAR, "agnostic")
MAX_ROWS = 100_000
NOT_FINISHED = "run {run_id} is {status}, not finished; explanations need a run that trained successfully."
IMPORTED = ("run {run_id} was imported from scores of a model trained elsewhere, so there is no model here to "
            "explain; explanations need a run trained in Riskboard.")
BAD_ROWS = "the number of rows to explain must be a whole number from 1 to {limit:,}; got {value!r}."
BAD_SEED = "the seed must be a whole number from 0 to 2**32 - 1; got {value!r}."
BAD_METHOD = "method must be one of {methods}; got {value!r}."
LINEAR_ONLY = "the exact linear method applies to logistic models only; this run trained an MLP (use {deeplift})."
AGNOSTIC_UPLOADED = ("the model-agnostic explainer is for uploaded models; a model trained here is explained "
                     "exactly (method 'auto').")
NO_FAST_PATH = ("this uploaded model is not a plain MLP or linear graph, so only the model-agnostic explainer "
                "applies (method 'agnostic' or 'auto').")


@dataclass(frozen=True)
class ExplainableRun:
    """Everything the Explain page and the what-if editor need from a trained run, loaded once."""

    run_id: str
    scorer: Scorer | AgnosticScorer
    test: pd.DataFrame  # test rows in original units, indexed by their row in the stored dataset
    train: pd.DataFrame  # training rows in original units (the background pool)
    classes: tuple[str, ...]
    positive_index: int
    sensitive: tuple[str, ...]
    n_dataset_rows: int
    test_groups: pd.DataFrame  # sensitive group label per test row (binned as the spec says), same index as test
    uploaded: Any = None  # an uploaded model's OnnxModel (also behind a fast-path scorer), for shap's explainers
    pool_note: str = ""  # said with every explanation when the background is not drawn from training rows
    explained_index: int = -1  # the class whose logit is explained (-1: the positive class)
    # a run loaded for one sampled explanation (load_run's ``sample``) holds only the test rows it explains and
    # the training rows its background draws take, at these positions among the run's n_test / n_train rows
    n_test: int = -1
    n_train: int = -1
    pool_positions: np.ndarray | None = None

    @property
    def sampled(self) -> bool:
        return self.pool_positions is not None

    @property
    def test_count(self) -> int:
        """The run's test rows (all of them, also when ``test`` holds only a sample)."""
        return self.n_test if self.sampled else len(self.test)

    @property
    def positive(self) -> str:
        return self.classes[self.positive_index]

    @property
    def explained(self) -> str:
        """The class whose score (log-odds / logit) the attributions explain."""
        return self.classes[self.positive_index if self.explained_index < 0 else self.explained_index]

    @property
    def class_key(self) -> int | None:
        """Cache key part: None for the positive class (old cache names stay valid), else the class index."""
        index = self.positive_index if self.explained_index < 0 else self.explained_index
        return None if index == self.positive_index else index

    @property
    def agnostic(self) -> bool:
        """True for an uploaded model explained through shap's model-agnostic explainers (no torch layers)."""
        return isinstance(self.scorer, AgnosticScorer)

    @property
    def linear(self) -> bool:
        return not self.agnostic and is_linear(layer_plan(self.scorer.model, output_index=None))


def load_run(store, run_id: str, class_name: str | None = None, *,
             sample: tuple[int, int, int] | None = None) -> ExplainableRun:
    """Load a succeeded, trained run's model and data; typed errors for anything else.

    ``class_name`` picks the class whose score is explained (that class's logit for 3+ classes, its log-odds for a
    binary target); default the run's positive class. ``sample=(rows, background, seed)`` reads and prepares only
    the test rows that explanation explains and the training rows its background draws take (a run trained here;
    the explanation is the same as from the whole run)."""
    record = store.get(run_id)
    if record.is_imported:
        raise ExplainError(IMPORTED.format(run_id=run_id))
    if record.status != SUCCEEDED:
        raise ExplainError(NOT_FINISHED.format(run_id=run_id, status=record.status))
    if record.is_uploaded_model:
        from core.explain._uploaded import load_uploaded

        return ExplainableRun(**load_uploaded(store, record))
    wanted = None
    if sample is not None:
        split = artifacts.load_split(store.artifacts(run_id))
        rows, background, seed = sample
        test_positions = sample_rows(len(split.test), min(rows, len(split.test)), seed)
        pool_positions = drawn_pool_rows(len(split.train), background, seed, DEFAULT_DRAWS)
        wanted = np.sort(np.concatenate([split.test[test_positions], split.train[pool_positions]]))
    run = load_trained_run(store, run_id, what="explain", rows=wanted)
    model = run.model.to(select_device().device)  # a fresh copy: moving it changes no stored run
    preprocessor, split, spec, config = run.preprocessor, run.split, run.spec, run.config
    classes, positive_index = run.classes, run.positive_index
    chosen = class_index(classes, positive_index, class_name, error=ExplainError)
    if len(classes) == 2:
        sign = 1.0 if chosen == 1 else -1.0  # the single logit scores class 1
        output_index, output = 0, f"log-odds of '{classes[chosen]}'"
    else:
        output_index, sign, output = chosen, 1.0, f"logit of '{classes[chosen]}'"
    scorer = Scorer(model=model, preprocessor=preprocessor, threshold=float(config.threshold),
                    output_index=output_index, sign=sign, output=output)
    common = {"run_id": run_id, "scorer": scorer, "classes": classes, "positive_index": positive_index,
              "sensitive": tuple(s.column for s in spec.sensitive), "explained_index": chosen}
    prepared = run.features()
    if wanted is None:
        test_frame = run.frame.iloc[split.test]
        groups = pd.DataFrame({s.column: sensitive_groups(test_frame, s).to_numpy() for s in spec.sensitive},
                              index=prepared.index[split.test])
        return ExplainableRun(**common, test=prepared.iloc[split.test], train=prepared.iloc[split.train],
                              n_dataset_rows=len(run.frame), test_groups=groups)
    test_rows = split.test[test_positions]
    return ExplainableRun(**common, test=prepared.loc[test_rows], train=prepared.loc[split.train[pool_positions]],
                          n_dataset_rows=DatasetStore(store.home).meta(record.dataset_id).rows,
                          test_groups=_test_groups(store, run, test_rows), n_test=len(split.test),
                          n_train=len(split.train), pool_positions=pool_positions)


def _test_groups(store, run, rows: np.ndarray) -> pd.DataFrame:
    """Sensitive group labels of the given test rows, binned over all test rows as the whole run bins them."""
    spec = run.spec
    if not spec.sensitive:
        return pd.DataFrame(index=pd.Index(rows))
    frame, _ = load_table(store.home, run.record.dataset_id, list(spec.sensitive_columns))
    test_frame = frame.iloc[run.split.test]
    return pd.DataFrame({s.column: sensitive_groups(test_frame, s).to_numpy() for s in spec.sensitive},
                        index=test_frame.index).loc[rows]


def _whole(value, low: int, high: int, message: str, **fmt) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ExplainError(message.format(value=value, **fmt))
    return int(value)


def resolve_method(run: ExplainableRun, method: str) -> str:
    if method not in METHODS:
        raise ExplainError(BAD_METHOD.format(methods=", ".join(METHODS), value=method))
    if method == "agnostic" or (run.agnostic and method == "auto"):
        if run.uploaded is None:
            raise ExplainError(AGNOSTIC_UPLOADED)
        return METHOD_EXACT if len(run.uploaded.mapping.columns) <= EXACT_MAX_FEATURES else METHOD_PERMUTATION
    if run.agnostic:
        raise ExplainError(NO_FAST_PATH)
    if method == "auto":
        return METHOD_LINEAR if run.linear else METHOD_DEEPLIFT
    if method == METHOD_LINEAR and not run.linear:
        raise ExplainError(LINEAR_ONLY.format(deeplift=METHOD_DEEPLIFT))
    return method  # DeepLIFT on a logistic model is the same closed form


def sample_rows(n_test: int, rows: int, seed: int) -> np.ndarray:
    """Positions of the explained test rows: all of them, or a seeded sample in their stored order."""
    if rows >= n_test:
        return np.arange(n_test)
    return background_rows(n_test, rows, seed, draw=1000)  # a stream independent of the background draws


def explain_run(store, run_id: str, *, rows: int = 1000, background: int = 200, seed: int = 0, method: str = "auto",
                on_progress: Progress | None = None, run: ExplainableRun | None = None,
                use_cache: bool = True, summary: str = "sample", class_name: str | None = None) -> Attributions:
    """SHAP values for ``rows`` test rows of a stored run (cached; a damaged cache is recomputed).

    ``summary="kmeans"`` uses ``background`` k-means centres of the training rows instead of a sample of them.
    ``class_name`` explains that class's score (ignored when ``run`` is given: the run says which class).
    """
    rows = _whole(rows, 1, MAX_ROWS, BAD_ROWS, limit=MAX_ROWS)
    seed = _whole(seed, 0, 2**32 - 1, BAD_SEED)
    if run is None:  # read only the rows this explanation uses (k-means summarises every training row)
        run = load_run(store, run_id, class_name, sample=(rows, background, seed) if summary == "sample" else None)
    resolved = resolve_method(run, method)
    arts = store.artifacts(run_id)
    n = min(rows, run.test_count)
    names = cache_names(n, background, seed, resolved, summary, run.class_key)
    if use_cache:
        cached = read_cached(arts, names)
        if cached is not None:
            return cached
    chosen = run.test if run.sampled else run.test.iloc[sample_rows(len(run.test), n, seed)]
    if resolved in (METHOD_EXACT, METHOD_PERMUTATION):
        result = explain_agnostic(run.uploaded, chosen, run.train, background=background, seed=seed,
                                  output=run.scorer.output, row_ids=chosen.index.to_numpy(),
                                  total_rows=run.test_count, on_progress=on_progress)
    else:
        result = _explain_torch(run, chosen, background, seed, on_progress, summary)
    if run.pool_note:
        result = dataclasses.replace(result, note=f"{result.note} {run.pool_note}".strip())
    write_cached(arts, names, result, log=lambda: activity.append(
        store.home, "explained", run_id, {"run_id": run_id, "rows": n, "method": resolved}))
    return result


def _explain_torch(run: ExplainableRun, chosen: pd.DataFrame, background: int, seed: int,
                   on_progress: Progress | None, summary: str) -> Attributions:
    return explain_rows(run.scorer.model, run.scorer.preprocessor, chosen, run.train, background=background,
                        seed=seed, output_index=run.scorer.output_index, sign=run.scorer.sign,
                        output=run.scorer.output, row_ids=chosen.index.to_numpy(), total_rows=run.test_count,
                        on_progress=on_progress, summary=summary, pool_positions=run.pool_positions,
                        pool_size=run.n_train)
