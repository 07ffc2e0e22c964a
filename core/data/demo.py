"""Embedded demo data (UCI Adult) and a synthetic table with a known injected bias.

The demo lets the app open with something to look at and no preparation; the synthetic generator gives tests and
demos a table whose true feature effects and group bias are known, so explanations and fairness numbers can be
checked against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.spec import DatasetSpec, SensitiveColumn

DEMO_PATH = Path(__file__).resolve().parents[2] / "data" / "adult.csv.gz"
DEMO_NAME = "adult.csv.gz"
DEMO_TARGET = "income"
DEMO_POSITIVE = ">50K"
DEMO_AGE_EDGES = (25.0, 45.0, 65.0)


def demo_bytes() -> bytes:
    return DEMO_PATH.read_bytes()


def demo_spec(dataset_id: str, columns: list[str]) -> DatasetSpec:
    """The demo's spec: predict income >50K, audit by sex, race and age band."""
    return DatasetSpec(
        dataset_id=dataset_id, target=DEMO_TARGET, positive_class=DEMO_POSITIVE,
        features=tuple(c for c in columns if c != DEMO_TARGET),
        sensitive=(SensitiveColumn("sex"), SensitiveColumn("race"),
                   SensitiveColumn("age", binning="edges", edges=DEMO_AGE_EDGES)),
        name="Adult: income >50K",
    )


def ensure_demo(store) -> tuple[object, DatasetSpec]:
    """Store the demo dataset and its spec (idempotent) and return ``(meta, spec)``."""
    meta = store.add(demo_bytes(), DEMO_NAME)
    columns = [c["name"] for c in meta.schema["columns"]]
    spec = demo_spec(meta.id, columns)
    store.save_spec(spec)
    return meta, spec


@dataclass(frozen=True)
class SyntheticTruth:
    """What generated the synthetic table: logit = intercept + sum(coef * x) + segment effect + group penalty."""

    intercept: float
    coefficients: dict[str, float]
    segment_effects: dict[str, float]
    group_penalty: dict[str, float]


SYNTHETIC_TRUTH = SyntheticTruth(
    intercept=-0.5,
    coefficients={"income_k": 1.5, "debt_ratio": -1.0, "tenure_years": 0.5, "noise": 0.0},
    segment_effects={"retail": 0.0, "business": 0.8, "student": -0.6},
    group_penalty={"A": 0.0, "B": -1.0},
)


def synthetic_biased(n: int = 2000, *, seed: int = 0, truth: SyntheticTruth = SYNTHETIC_TRUTH) -> pd.DataFrame:
    """Loan-approval table whose outcome is, by construction, harder to get for group B at equal merit."""
    rng = np.random.default_rng(seed)
    numeric = {name: rng.standard_normal(n) for name in truth.coefficients}
    segments = np.array(list(truth.segment_effects))
    groups = np.array(list(truth.group_penalty))
    segment = segments[rng.integers(0, len(segments), n)]
    group = groups[(rng.random(n) < 0.35).astype(int)]  # 65 % A, 35 % B
    logit = truth.intercept + sum(truth.coefficients[k] * v for k, v in numeric.items())
    logit = logit + np.vectorize(truth.segment_effects.get)(segment) + np.vectorize(truth.group_penalty.get)(group)
    approved = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({k: np.round(v, 4) for k, v in numeric.items()})
    frame["segment"] = segment
    frame["group"] = group
    frame["approved"] = np.where(approved, "yes", "no")
    return frame


SYNTHETIC_NAME = "synthetic-loans.csv"
SYNTHETIC_ROWS = 5000


def ensure_synthetic_demo(store, *, rows: int = SYNTHETIC_ROWS, seed: int = 0) -> tuple[object, DatasetSpec]:
    """Store the synthetic loan table and its spec (idempotent): a demo whose true bias is known in advance."""
    frame = synthetic_biased(rows, seed=seed)
    meta = store.add(frame.to_csv(index=False).encode(), SYNTHETIC_NAME)
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=tuple(c for c in frame.columns if c != "approved"),
                       sensitive=(SensitiveColumn("group"),), name="Synthetic loans: approved = yes")
    store.save_spec(spec)
    return meta, spec
