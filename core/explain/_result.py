"""The one result object every explanation view reads: values per original feature, base value, data, provenance.

Kept close to ``shap.Explanation`` (values, base value, data, feature names) so :meth:`Attributions.to_shap` is a
one-liner for notebook users, plus what a reader needs to trust the numbers: the method, the background size and
seed, the worst additivity error over the explained rows, how long it took, how many rows of how many were
explained, and the stability of the importance ranking over background draws (rank intervals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

FORMAT = "riskboard.attributions"
VERSION = 1
BAD_PAYLOAD = "stored explanation is malformed: {why}"


@dataclass(frozen=True, eq=False)
class Attributions:
    """SHAP values per original feature for a sample of rows, in the model's logit space for the positive class.

    ``values[r, j]`` is feature ``j``'s push on row ``r``'s log-odds; ``base_value + values[r].sum()`` equals the
    row's logit ``scores[r]`` (within ``additivity_max_error``). ``data`` holds the same rows in original units
    (numbers as numbers, categories as their labels). ``rank_intervals`` maps a feature to the best and worst rank
    (1 = most important) its mean |SHAP| took over the background draws.
    """

    values: np.ndarray
    base_value: float
    data: pd.DataFrame
    feature_names: tuple[str, ...]
    method: str
    background: int
    seed: int
    additivity_max_error: float | None
    seconds: float
    scores: np.ndarray
    probabilities: np.ndarray
    rows: np.ndarray
    output: str = "log-odds of the positive class"
    total_rows: int = 0
    rank_intervals: dict[str, tuple[int, int]] = field(default_factory=dict)
    draws: int = 1
    note: str = ""
    summary: str = "sample"  # how the background was formed: "sample" (training rows) or "kmeans" (centres)

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    def mean_abs(self) -> np.ndarray:
        """Global importance: mean |SHAP| per feature over the explained rows."""
        if self.n_rows == 0:
            return np.zeros(len(self.feature_names))
        return np.abs(self.values).mean(axis=0)

    def importance(self) -> pd.DataFrame:
        """Features sorted by mean |SHAP| (ties keep column order), with their rank interval over draws."""
        mean_abs = self.mean_abs()
        order = np.argsort(-mean_abs, kind="stable")
        rows = []
        for rank, j in enumerate(order, start=1):
            name = self.feature_names[j]
            low, high = self.rank_intervals.get(name, (rank, rank))
            rows.append({"feature": name, "mean_abs_shap": float(mean_abs[j]), "rank": rank,
                         "rank_low": int(low), "rank_high": int(high)})
        return pd.DataFrame(rows, columns=["feature", "mean_abs_shap", "rank", "rank_low", "rank_high"])

    def row(self, position: int) -> pd.DataFrame:
        """One row's attributions with its values, largest push first (for the waterfall and sentences)."""
        values = self.values[position]
        order = np.argsort(-np.abs(values), kind="stable")
        return pd.DataFrame({"feature": [self.feature_names[j] for j in order],
                             "value": [self.data.iloc[position, j] for j in order],
                             "shap": values[order]})

    def payload(self, run_id: str) -> dict[str, Any]:
        """The ``explain --json`` contract: importance sorted largest first, in original feature names (the CLI
        prints it and the report reads it)."""
        importance = self.importance()
        return {"run_id": run_id, "method": self.method, "output": self.output, "rows": int(self.n_rows),
                "background": int(self.background), "seconds": float(self.seconds),
                "additivity_max_error": self.additivity_max_error,
                "importance": [{"feature": str(r.feature), "mean_abs_shap": float(r.mean_abs_shap),
                                "rank_interval": [int(r.rank_low), int(r.rank_high)]}
                               for r in importance.itertuples(index=False)]}

    def to_shap(self) -> Any:
        """The same numbers as a ``shap.Explanation`` (for shap's own plots in a notebook)."""
        import shap  # optional at runtime: only notebook users need it

        return shap.Explanation(values=self.values.copy(), base_values=np.full(self.n_rows, self.base_value),
                                data=self.data.to_numpy(dtype=object), feature_names=list(self.feature_names),
                                output_names=self.output)

    # ------------------------------------------------------------------------------------------------ persistence
    def meta(self) -> dict[str, Any]:
        """Everything but the per-row tables, JSON-ready (non-finite floats as None)."""
        error = self.additivity_max_error
        return {"format": FORMAT, "version": VERSION, "base_value": float(self.base_value),
                "feature_names": list(self.feature_names), "method": self.method, "background": int(self.background),
                "seed": int(self.seed), "seconds": float(self.seconds), "output": self.output,
                "additivity_max_error": None if error is None or not math.isfinite(error) else float(error),
                "total_rows": int(self.total_rows), "draws": int(self.draws), "note": self.note,
                "summary": self.summary,
                "rank_intervals": {k: [int(v[0]), int(v[1])] for k, v in self.rank_intervals.items()}}

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(numbers, data): SHAP values with row id, score and probability; the rows in original units."""
        numbers = pd.DataFrame(self.values, columns=[f"shap_{j}" for j in range(len(self.feature_names))])
        numbers.insert(0, "row", self.rows.astype(np.int64))
        numbers["score"] = self.scores.astype(np.float64)
        numbers["probability"] = self.probabilities.astype(np.float64)
        data = self.data.copy()
        data.columns = [f"x_{j}" for j in range(data.shape[1])]
        return numbers, data

    @classmethod
    def from_parts(cls, meta: dict[str, Any], numbers: pd.DataFrame, data: pd.DataFrame) -> Attributions:
        """Rebuild from :meth:`meta` and :meth:`tables`; raises ``ValueError`` when the parts do not fit."""
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise ValueError(BAD_PAYLOAD.format(why="unknown format or version"))
        try:
            names = tuple(str(n) for n in meta["feature_names"])
            values = numbers[[f"shap_{j}" for j in range(len(names))]].to_numpy(dtype=np.float64)
            frame = data[[f"x_{j}" for j in range(len(names))]].copy()
            frame.columns = list(names)
            for name in names:  # Parquet gives text back as pandas' string dtype: keep object + None, as computed
                column = frame[name]
                if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
                    frame[name] = column.astype("object").where(column.notna(), None)
            if len(frame) != len(values):
                raise ValueError("row counts differ")
            error = meta["additivity_max_error"]
            return cls(values=values, base_value=float(meta["base_value"]), data=frame.reset_index(drop=True),
                       feature_names=names, method=str(meta["method"]), background=int(meta["background"]),
                       seed=int(meta["seed"]), additivity_max_error=None if error is None else float(error),
                       seconds=float(meta["seconds"]), scores=numbers["score"].to_numpy(dtype=np.float64),
                       probabilities=numbers["probability"].to_numpy(dtype=np.float64),
                       rows=numbers["row"].to_numpy(dtype=np.int64), output=str(meta["output"]),
                       total_rows=int(meta["total_rows"]), draws=int(meta["draws"]), note=str(meta["note"]),
                       summary=str(meta.get("summary", "sample")),
                       rank_intervals={str(k): (int(v[0]), int(v[1])) for k, v in meta["rank_intervals"].items()})
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(BAD_PAYLOAD.format(why=f"{type(exc).__name__}: {exc}")) from None
