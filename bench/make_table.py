"""Write the issue's big table: ``rows`` x 51 (40 float32, 9 categorical ``c1..c9``, ``group``, a 0/1 target ``y``).

Usage: ``python bench/make_table.py PATH [ROWS]`` (default 1,000,000). The file appears whole or not at all.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd


def write_table(path: str, rows: int = 1_000_000) -> tuple[int, int]:
    rng = np.random.default_rng(0)
    numbers = rng.standard_normal((rows, 40), dtype=np.float32)
    frame = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(40)])
    logit = numbers[:, :5] @ np.array([1.0, -0.8, 0.6, 0.4, -0.3], dtype=np.float32)
    for j in range(10):
        levels = 5 + j
        codes = rng.integers(0, levels, rows)
        frame[f"c{j}"] = pd.Categorical.from_codes(codes, [f"L{k}" for k in range(levels)])
        logit += (codes % 3 - 1) * 0.2 * (j < 3)
    frame["group"] = frame["c0"]
    frame = frame.drop(columns=["c0"])
    frame["y"] = (logit + rng.logistic(size=rows) > 0).astype(np.int8)
    partial = path + ".part"
    frame.to_parquet(partial, index=False)
    os.replace(partial, path)  # never leave a truncated file where a reader looks
    return frame.shape


if __name__ == "__main__":
    print(sys.argv[1], write_table(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
