"""The explanation cache of a run: three files per (rows, background, seed, method, summary, class) written through
:class:`~core.runs.RunArtifacts`. Kept apart from the explainers so a report that reads a cached explanation imports
neither torch nor shap."""

from __future__ import annotations

import pandas as pd

from core.explain._result import Attributions
from core.runs import read_cache, write_cache


def cache_names(rows: int, background: int, seed: int, method: str, summary: str = "sample",
                class_key: int | None = None) -> tuple[str, str, str]:
    key = f"explain-r{rows}-b{background}-s{seed}-{method}" + ("-kmeans" if summary == "kmeans" else "")
    if class_key is not None:  # another class than the positive one
        key += f"-c{class_key}"
    return f"{key}.json", f"{key}-values.parquet", f"{key}-data.parquet"


def read_cached(arts, names: tuple[str, str, str], *, discard: bool = True) -> Attributions | None:
    """The cached explanation, or None when absent or damaged (:func:`core.runs.read_cache`'s policy)."""
    meta_name, values_name, data_name = names
    return read_cache(arts, names, lambda: Attributions.from_parts(
        arts.read_json(meta_name), arts.read_parquet(values_name), arts.read_parquet(data_name)), discard=discard)


def write_cached(arts, names: tuple[str, str, str], result: Attributions, *, log=None) -> None:
    """Cache the result; ``log`` (the activity entry) runs once it is written, under the same write policy."""
    meta_name, values_name, data_name = names
    numbers, data = result.tables()

    def write() -> None:
        arts.write_parquet(values_name, numbers)
        arts.write_parquet(data_name, _parquet_safe(data))
        arts.write_json(meta_name, result.meta())  # last: the cache counts only once its metadata is written
        if log is not None:
            log()
    write_cache(write)


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as text (None kept), so Parquet stores one type per column."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
            out[name] = column.astype("object").where(column.notna(), None).map(
                lambda v: v if v is None else str(v)).astype("object")
    return out
