"""Plain-language sentences about an explanation, for readers who are not specialists (and for the report).

Every sentence names the scale ("log-odds") so that "+1.8" means something, and says which class "towards" means.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _value(value: Any) -> str:
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(value)):
        return "missing"
    if isinstance(value, float | np.floating):
        return f"{float(value):,.4g}"
    return str(value)


def positive_name(output: str) -> str:
    """``"log-odds of '>50K'"`` -> ``'>50K'`` (the class a positive push points to)."""
    start = output.find("'")
    return output[start:] if start >= 0 else "the positive class"


def push_sentence(feature: str, value: Any, shap_value: float, output: str, *, subject: str = "this row") -> str:
    """``capital-gain = 15,024 pushes this row towards '>50K' by +1.80 on the log-odds scale.``"""
    target = positive_name(output)
    direction = "towards" if shap_value >= 0 else "away from"
    return (f"{feature} = {_value(value)} pushes {subject} {direction} {target} by {shap_value:+.2f} on the "
            "log-odds scale.")


def row_sentences(values: np.ndarray, names: tuple[str, ...], shown: list[Any], output: str, *, top: int = 3,
                  subject: str = "this row") -> list[str]:
    """The ``top`` largest pushes on one row, largest first."""
    order = np.argsort(-np.abs(np.asarray(values)), kind="stable")[:top]
    return [push_sentence(names[j], shown[j], float(values[j]), output, subject=subject) for j in order]


def additivity_sentence(error: float | None, n_rows: int) -> str:
    """``Attributions add up to the model's score within 3e-06 on every one of the 1,000 explained rows.``"""
    if error is None:
        return "No rows were explained, so there is no additivity check."
    return (f"Attributions add up to the model's score within {error:.0e} on every one of the {n_rows:,} explained "
            "rows (base value + sum of SHAP values = the model's log-odds).")


def importance_sentences(result: Any, *, top: int = 3) -> list[str]:
    """What the global ranking says, and how settled it is."""
    table = result.importance()
    if table.empty or result.n_rows == 0:
        return []
    lines = []
    for row in table.head(top).itertuples(index=False):
        if row.rank_low == row.rank_high:
            settled = f"ranked {row.rank} in every one of the {result.draws} background draws"
        else:
            settled = f"ranked between {row.rank_low} and {row.rank_high} across {result.draws} background draws"
        lines.append(f"{row.feature} moves the score by {row.mean_abs_shap:.2f} log-odds on average ({settled}).")
    return lines


def coverage_sentence(result: Any, n_dataset_rows: int) -> str:
    """How many rows the numbers come from, out of how many."""
    kind = "k-means centres of the training rows" if result.summary == "kmeans" else "training rows"
    text = (f"Explained {result.n_rows:,} of the run's {result.total_rows:,} test rows against a background of "
            f"{result.background:,} {kind} (seed {result.seed}), in {result.seconds:.2f} s with {result.method}.")
    if n_dataset_rows > result.n_rows:
        text += f" The dataset has {n_dataset_rows:,} rows; the views below show the explained sample only."
    return text
