"""A table with two leaks planted in the synthetic loans data, shared by the core, page and CLI leakage tests.

``decision_code`` is the target under other labels (the lending decision, encoded); ``approved_flag`` is a
near-duplicate of the target: 1 for approved, 0 otherwise, with 4 of 800 rows flipped, so it is neither identical
nor a relabelling, yet alone it ranks the classes with ROC AUC about 0.995. Without them the honest features
reach about 0.8.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.demo import synthetic_biased

LEAKY_COLUMNS = ("decision_code", "approved_flag")
FLIPPED = 4


def leaky_loans(n: int = 800, *, seed: int = 5) -> pd.DataFrame:
    frame = synthetic_biased(n, seed=seed)
    approved = (frame["approved"] == "yes").to_numpy()
    columns = list(frame.columns)
    decision_code = np.where(approved, "APR", "DCL")
    flag = approved.astype(int)
    # flip FLIPPED rows, half from each class, so the column is wrong on exactly FLIPPED / n of both classes' rows
    yes, no = np.flatnonzero(approved), np.flatnonzero(~approved)
    flip = np.concatenate([yes[: FLIPPED // 2], no[: FLIPPED - FLIPPED // 2]])
    flag[flip] = 1 - flag[flip]
    # planted before the target, which stays last as in most tables
    leaky = frame.drop(columns="approved").assign(decision_code=decision_code, approved_flag=flag)
    return leaky.assign(approved=frame["approved"])[[*columns[:-1], *LEAKY_COLUMNS, "approved"]]
