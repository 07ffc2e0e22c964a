"""From a model, its preprocessor and a table of rows to :class:`Attributions` in original feature names and units.

Steps: encode the rows and a background of training rows with the run's own preprocessor; attribute on the
model's device (exact closed form for a logistic model, batched DeepLIFT for an MLP); check additivity on every row;
sum each original feature's encoded columns (one-hot levels, missing indicator) with ``preprocessor.groups()``;
repeat the attribution over further background draws to report how stable the importance ranking is.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.device import cpu_workers
from core.errors import ConfigError
from core.explain._deeplift import (
    DEFAULT_MAX_ELEMENTS,
    METHOD_DEEPLIFT,
    METHOD_LINEAR,
    deeplift,
    forward,
    is_linear,
    layer_plan,
)
from core.explain._result import Attributions
from core.models.preprocess import _level_text

NO_ROWS = "there are no rows to explain; pick a sample size of at least 1."
NO_POOL = "there are no training rows to draw the background from."
BAD_BACKGROUND = "the background size must be a whole number from 1 to {limit}; got {value!r}."
BAD_DRAWS = "the number of background draws must be a whole number from 1 to 10; got {value!r}."
MAX_BACKGROUND = 5000
LAYERNORM_NOTE = ("LayerNorm has no exact DeepLIFT rule: its division by the row's spread is attributed unit by unit "
                  "(elementwise rescale); what this leaves out shows in the additivity error.")

ACCELERATOR_MAX_ELEMENTS = 1 << 26  # 256 MB of float32 per (rows, background, width) tensor on a GPU

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EncodedAttributions:
    """Attributions per encoded column, before grouping."""

    values: np.ndarray  # (n, d) float64
    scores: np.ndarray  # (n,) the explained logit f(x)
    base_value: float  # mean of f over the background
    method: str
    additivity_max_error: float | None
    note: str = ""


def model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


def attribute(model: nn.Module, x: np.ndarray, background: np.ndarray, *, output_index: int = 0, sign: float = 1.0,
              dtype: torch.dtype = torch.float32, max_elements: int = DEFAULT_MAX_ELEMENTS,
              on_rows: Callable[[int], None] | None = None, weights: np.ndarray | None = None,
              workers: int = 1) -> EncodedAttributions:
    """SHAP values of one model output (times ``sign``) for encoded rows ``x`` against ``background``.

    ``weights`` weigh the background rows (a k-means summary); they are normalised to sum to 1. ``workers``
    threads attribute row chunks at once (:func:`core.explain._deeplift.deeplift`).

    Runs where the model's weights live and never touches the module itself (no hooks, no ``eval()``, no copies
    of its state written back).
    """
    device = model_device(model)
    if device.type != "cpu" and max_elements == DEFAULT_MAX_ELEMENTS:
        max_elements = ACCELERATOR_MAX_ELEMENTS  # a GPU wants big kernels, not cache-sized chunks
    plan = layer_plan(model, output_index=output_index, sign=sign, dtype=dtype, device=device)
    if is_linear(plan) and device.type != "mps":  # the closed form is cheap: do it in float64 (MPS has none)
        dtype = torch.float64
        plan = layer_plan(model, output_index=output_index, sign=sign, dtype=dtype, device=device)
    xs = torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)
    bg = torch.as_tensor(np.ascontiguousarray(background), dtype=dtype, device=device)
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        w = torch.as_tensor(w / w.sum(), dtype=dtype, device=device)
    phi, f_x, f_bg = deeplift(plan, xs, bg, max_elements=max_elements, on_chunk=on_rows, weights=w,
                                workers=workers)
    values = phi.double().cpu().numpy()
    scores = f_x.double().cpu().numpy()
    base = float(f_bg.double().mean().cpu()) if w is None else float((f_bg.double() * w.double()).sum().cpu())
    error = float(np.max(np.abs(values.sum(axis=1) + base - scores))) if len(scores) else None
    has_layernorm = any(layer.kind == "layernorm" for layer in plan)
    method = METHOD_LINEAR if is_linear(plan) else METHOD_DEEPLIFT
    return EncodedAttributions(values, scores, base, method, error, LAYERNORM_NOTE if has_layernorm else "")


def group_values(values: np.ndarray, groups: Mapping[str, Sequence[int]]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Sum encoded columns back to their original feature: ``(n, d)`` -> ``(n, features)``."""
    names = tuple(groups)
    out = np.zeros((values.shape[0], len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        columns = list(groups[name])
        if columns:
            out[:, j] = values[:, columns].sum(axis=1)
    return out, names


def rank_intervals(importances: Sequence[np.ndarray], names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Best and worst rank (1 = largest mean |SHAP|) of each feature over the given importance vectors."""
    ranks = []
    for importance in importances:
        order = np.argsort(-np.asarray(importance), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        ranks.append(rank)
    stacked = np.vstack(ranks)
    return {name: (int(stacked[:, j].min()), int(stacked[:, j].max())) for j, name in enumerate(names)}


def background_rows(n_pool: int, size: int, seed: int, draw: int = 0) -> np.ndarray:
    """Positions of one background draw (sorted, without replacement); draw 0 depends on the seed alone."""
    rng = np.random.default_rng([int(seed), int(draw)])
    take = min(int(size), int(n_pool))
    return np.sort(rng.choice(n_pool, size=take, replace=False))


def drawn_pool_rows(n_pool: int, size: int, seed: int, draws: int) -> np.ndarray:
    """Every pool position any of ``draws`` background draws takes (sorted): the only training rows an
    explanation with a sampled background reads."""
    return np.unique(np.concatenate([background_rows(n_pool, size, seed, draw) for draw in range(draws)]))


DEFAULT_DRAWS = 3
SUMMARIES = ("sample", "kmeans")
BAD_SUMMARY = "the background summary must be one of {options}; got {value!r}."
KMEANS_POOL = 20_000  # rows k-means sees at most (a seeded sample of the training rows)


def kmeans_background(pool_encoded: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` k-means centres of the encoded training rows and the share of rows each stands for.

    Like ``shap.kmeans``: a smaller background that still covers the data; the centres of one-hot blocks are
    shares, not real rows, and each centre is weighted by its cluster's size so the base value stays the mean.
    """
    from sklearn.cluster import KMeans

    rng = np.random.default_rng([int(seed), 7])
    rows = pool_encoded
    if len(rows) > KMEANS_POOL:
        rows = rows[np.sort(rng.choice(len(rows), size=KMEANS_POOL, replace=False))]
    k = min(int(size), len(rows))
    model = KMeans(n_clusters=k, n_init=1, random_state=int(seed)).fit(rows.astype(np.float64))
    counts = np.bincount(model.labels_, minlength=k).astype(np.float64)
    keep = counts > 0
    return model.cluster_centers_[keep].astype(np.float32), counts[keep] / counts[keep].sum()


def positive_probability(model: nn.Module, x: np.ndarray, *, output_index: int, sign: float) -> np.ndarray:
    """The model's probability of the positive class, from the same layers the attributions use."""
    device = model_device(model)
    plan = layer_plan(model, output_index=None, device=device)
    with torch.no_grad():
        logits = forward(plan, torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32, device=device))[0]
        logits = logits.double()
        if logits.shape[1] == 1:
            return torch.sigmoid(sign * logits[:, 0]).cpu().numpy()
        return torch.softmax(logits, dim=1)[:, output_index].cpu().numpy()


def display_frame(frame: pd.DataFrame, preprocessor) -> pd.DataFrame:
    """The rows as the user knows them: numbers as float, categories as the text the preprocessor matches on."""
    columns = {}  # built as one dict: a frame grown column by column fragments (784 pixel columns warned)
    for name in preprocessor.columns:
        column = frame[name].reset_index(drop=True)
        if name in preprocessor.numeric:
            columns[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:
            text = pd.Series(_level_text(column.to_numpy(dtype=object)), dtype="object") if len(column) else column
            columns[name] = text.where(column.notna().to_numpy(), None).astype("object")
    return pd.DataFrame(columns, index=range(len(frame)))


def _check_sizes(background: int, draws: int) -> None:
    if isinstance(background, bool) or not isinstance(background, int | np.integer) or not (
            1 <= background <= MAX_BACKGROUND):
        raise ConfigError(BAD_BACKGROUND.format(limit=MAX_BACKGROUND, value=background))
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or not 1 <= draws <= 10:
        raise ConfigError(BAD_DRAWS.format(value=draws))


@contextlib.contextmanager
def cpu_workers_for(device: torch.device) -> Iterator[int]:
    """How many threads should attribute row chunks at once on ``device``: on the CPU, one per core
    (:func:`core.device.cpu_workers`), each with torch's intra-op threads set to 1 until the block ends (torch's
    own threads wait for one another at every operation, which on a shared 2-core machine was measured several
    times slower); on an accelerator one, which keeps the device busy by itself."""
    if device.type != "cpu":
        yield 1
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield cpu_workers()
    finally:
        torch.set_num_threads(before)


def explain_rows(model: nn.Module, preprocessor, rows: pd.DataFrame, pool: pd.DataFrame, *, background: int = 200,
                 seed: int = 0, draws: int = DEFAULT_DRAWS, output_index: int = 0, sign: float = 1.0,
                 output: str = "log-odds of the positive class", row_ids: np.ndarray | None = None,
                 total_rows: int | None = None, on_progress: Progress | None = None,
                 max_elements: int = DEFAULT_MAX_ELEMENTS, summary: str = "sample",
                 pool_positions: np.ndarray | None = None, pool_size: int | None = None) -> Attributions:
    """Explain ``rows`` (original units) against backgrounds drawn from ``pool`` (training rows, original units).

    ``draws`` background draws are attributed (draw 0 gives the values; all give the rank intervals), so the
    cost is ``draws`` times one attribution. ``summary="kmeans"`` replaces each draw of rows by ``background``
    k-means centres (seeded per draw), weighted by cluster size. ``on_progress(done, total)`` counts explained
    rows over all draws. ``pool_positions``: ``pool`` holds only these positions (sorted) of a pool of
    ``pool_size`` rows, at least those :func:`drawn_pool_rows` names; the draws are those of the whole pool.
    """
    _check_sizes(background, draws)
    if summary not in SUMMARIES:
        raise ConfigError(BAD_SUMMARY.format(options=", ".join(SUMMARIES), value=summary))
    if len(rows) == 0:
        raise ConfigError(NO_ROWS)
    if len(pool) == 0:
        raise ConfigError(NO_POOL)
    started = time.perf_counter()
    x = preprocessor.transform(rows)
    groups = preprocessor.groups()
    n = len(rows)
    total = n * draws
    importances: list[np.ndarray] = []
    first: EncodedAttributions | None = None
    used = 0
    pool_encoded = preprocessor.transform(pool) if summary == "kmeans" else None
    for draw in range(draws):
        weights = None
        if pool_encoded is not None:
            bg, weights = kmeans_background(pool_encoded, background, seed + draw)
        else:
            n_pool = len(pool) if pool_positions is None else int(pool_size)
            drawn = background_rows(n_pool, background, seed, draw)
            bg = preprocessor.transform(pool.iloc[drawn if pool_positions is None
                                                  else np.searchsorted(pool_positions, drawn)])
        used = len(bg)
        offset = draw * n
        callback = (lambda done, offset=offset: on_progress(offset + done, total)) if on_progress else None
        with cpu_workers_for(model_device(model)) as workers:
            encoded = attribute(model, x, bg, output_index=output_index, sign=sign, max_elements=max_elements,
                                on_rows=callback, weights=weights, workers=workers)
        grouped, names = group_values(encoded.values, groups)
        importances.append(np.abs(grouped).mean(axis=0))
        if first is None:
            first, values = encoded, grouped
    assert first is not None
    if on_progress is not None:
        on_progress(total, total)
    data = display_frame(rows, preprocessor)
    probabilities = positive_probability(model, x, output_index=output_index, sign=sign)
    return Attributions(values=values, base_value=first.base_value, data=data, feature_names=names,
                        method=first.method, background=used, seed=int(seed),
                        additivity_max_error=first.additivity_max_error, seconds=time.perf_counter() - started,
                        scores=first.scores, probabilities=probabilities,
                        rows=np.asarray(row_ids if row_ids is not None else np.arange(n), dtype=np.int64),
                        output=output, total_rows=int(total_rows if total_rows is not None else n),
                        rank_intervals=rank_intervals(importances, names), draws=draws, note=first.note,
                        summary=summary)
