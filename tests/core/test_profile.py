"""Data-page tables: the schema table and group sizes (bins in their natural order)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.profile import group_sizes, schema_table
from core.data.schema import infer_schema
from core.data.spec import SensitiveColumn


def test_binned_groups_come_in_edge_order_with_missing_last():
    frame = pd.DataFrame({"age": [70, 30, 30, 30, 50, 50, np.nan, 20],
                          "sex": ["F", "M", "M", "F", "M", "M", None, "M"]})
    sizes = group_sizes(frame, [SensitiveColumn("age", binning="edges", edges=(25, 45, 65)), SensitiveColumn("sex")])
    assert sizes["age"].index.tolist() == ["[-∞, 25)", "[25, 45)", "[45, 65)", "[65, ∞)", "missing"]
    assert sizes["age"].tolist() == [1, 3, 2, 1, 1]
    assert sizes["sex"].to_dict() == {"M": 5, "F": 2, "missing": 1}
    assert sizes["sex"].index[0] == "M"  # categories: largest first


def test_schema_table_rows():
    frame = pd.DataFrame({"n": [1.0, None, 3.0, 4.0], "c": ["a", "b", "a", "a"]})
    table = schema_table(infer_schema(frame))
    assert table["column"].tolist() == ["n", "c"]
    assert table["missing"].tolist() == [0.25, 0.0]
    assert table["unique"].tolist() == [3, 2]
