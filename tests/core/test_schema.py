"""core.data.schema: kinds, counts, warnings and leakage on hand-built frames with exact expectations."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest

from core.data.ingest import read_table
from core.data.schema import (
    HIGH_CARDINALITY,
    ColumnInfo,
    DatasetSchema,
    Kind,
    LeakageWarning,
    describe_column,
    infer_schema,
    leakage_candidates,
)
from core.errors import SpecError

NAN = np.nan
W_ID = "looks like an identifier (every value is different); leave it out of the features"


def text(values) -> pd.Series:
    return pd.Series(values, dtype="str")


def info(name: str, values) -> ColumnInfo:
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return describe_column(name, series)


# --- kinds ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, values, kind", [
    ("x", [1.5, 2.5, 1.5, NAN], Kind.NUMERIC),
    ("x", [3, 1, 2, 3, 1], Kind.NUMERIC),
    ("x", text(["a", "b", "a", NAN]), Kind.CATEGORICAL),
    ("sex", text(["M", "F", "F"]), Kind.CATEGORICAL),
    ("income", text([">50K", "<=50K", "<=50K"]), Kind.CATEGORICAL),
    ("x", [True, False, True], Kind.BOOLEAN),
    ("x", pd.array([True, None, False], dtype="boolean"), Kind.BOOLEAN),
    ("x", [0, 1, 1, 0], Kind.BOOLEAN),
    ("x", [0.0, 1.0, NAN], Kind.BOOLEAN),
    ("x", text(["yes", "no", "Yes"]), Kind.CATEGORICAL),  # three distinct spellings: not a clean pair
    ("x", text(["Yes", "No", "No"]), Kind.BOOLEAN),
    ("x", text(["TRUE", "false"]), Kind.BOOLEAN),
    ("x", text(["y", "n", NAN]), Kind.BOOLEAN),
    ("x", [1, 2, 1, 2], Kind.NUMERIC),  # two numbers other than 0/1 are a number
    ("x", pd.to_datetime(["2020-01-01", "2020-02-01"]), Kind.DATETIME),
    ("x", text(["2020-01-31", "2021-12-01", "2022-06-15 10:30", NAN]), Kind.DATETIME),
    ("x", text(["31/01/2020", "01/12/2021", "15.06.2022"]), Kind.DATETIME),
    ("x", text(["10-20", "20-30", "10-20"]), Kind.CATEGORICAL),  # age bands are not dates
    ("x", text(["k", "k", NAN]), Kind.CONSTANT),
    ("x", [7, 7, 7], Kind.CONSTANT),
    ("x", text([NAN, NAN]), Kind.EMPTY),
    ("x", [NAN, NAN, NAN], Kind.EMPTY),
    ("x", pd.Series([], dtype="float64"), Kind.EMPTY),
])
def test_kinds(name, values, kind):
    assert info(name, values).kind == kind


def test_identifiers():
    n = 25
    assert info("row", list(range(n))).kind == Kind.ID  # a row number
    assert info("row", list(range(n - 1))).kind == Kind.ID
    assert info("account", [10**6 + 7919 * i for i in range(n)]).kind == Kind.NUMERIC  # distinct amounts
    assert info("account_id", [10**6 + 7919 * i for i in range(n)]).kind == Kind.ID  # ... named like an id
    assert info("CustomerID", [10**6 + 7919 * i for i in range(n)]).kind == Kind.ID
    assert info("paid", [10**6 + 7919 * i for i in range(n)]).kind == Kind.NUMERIC  # "paid" is not "p id"
    assert info("user", text([f"u{i:03d}" for i in range(n)])).kind == Kind.ID
    assert info("user", text([f"u{i:03d}" for i in range(19)])).kind == Kind.CATEGORICAL  # too few rows to tell
    uuids = text([f"{i:08x}-1234-5678-9abc-def012345678" for i in range(n)])  # long, but no spaces: an id
    assert info("token", uuids).kind == Kind.ID
    nearly = text([f"u{i}" for i in range(100)] + ["u1"] * 3)  # 97% distinct, named like an id
    assert info("user_id", nearly).kind == Kind.ID
    assert info("user", nearly).kind == Kind.CATEGORICAL
    assert info("x", [i + 0.5 for i in range(n)]).kind == Kind.NUMERIC  # distinct floats are measurements


def test_free_text():
    notes = text([f"customer called about invoice {i} and asked for a refund" for i in range(10)] + [NAN])
    column = info("note", notes)
    assert (column.kind, column.unique, column.warnings) == (Kind.TEXT, 10, [])


def test_counts_and_examples_are_exact():
    column = info("c", text(["b", "a", NAN, "b", "c", "d", "e", "f", NAN, NAN]))
    assert column == ColumnInfo(name="c", kind=Kind.CATEGORICAL, dtype="str", missing=0.3, unique=6,
                                examples=["b", "a", "c", "d", "e"], warnings=[])


def test_warnings_are_exact():
    assert info("e", [NAN] * 4).warnings == ["every value is missing; leave it out"]
    assert info("k", text(["x", "x", NAN])).warnings == ["has a single value ('x'); it cannot help a model"]
    assert info("row", list(range(30))).warnings == [W_ID]
    assert info("c", text(["a", "b", "c"])).warnings == ["every row has a different value, so a model cannot learn "
                                                         "from it"]
    assert info("m", [1.0, 2.0, NAN, NAN, NAN]).warnings == ["60% of the values are missing"]
    assert info("m", [1.0, 2.0, NAN, NAN]).warnings == []  # exactly half is not "over half"
    levels = text([f"level {i % (HIGH_CARDINALITY + 1)}" for i in range(2 * (HIGH_CARDINALITY + 1))])
    assert info("c", levels).warnings == ["101 different values; consider grouping rare values or leaving it out"]
    assert info("c", text([f"level {i % HIGH_CARDINALITY}" for i in range(2 * HIGH_CARDINALITY)])).warnings == []


def test_dataset_warnings_and_shape():
    schema = infer_schema(pd.DataFrame({f"c{i}": [i, i + 1] for i in range(3)}))
    assert schema.rows == 2
    assert schema.names == ["c0", "c1", "c2"]
    assert schema.warnings == ["only 2 rows; results on so few rows are mostly noise",
                               "more columns (3) than rows (2); a model will overfit"]
    wide = infer_schema(pd.DataFrame({"a": range(60), "b": [i % 3 for i in range(60)]}))
    assert wide.warnings == []


def test_bad_inputs_from_ingest_get_the_expected_kinds():
    header = "id,age,name,empty,const,target3,html <b>,=HYPERLINK(\"x\"),📈\n"
    rows = "".join(f"{i},{20 + i % 50 if i % 40 else 'unknown'},n{i % 7},,k,{'abc'[i % 3]},{i % 2},{i},x{i % 4}\n"
                   for i in range(200))
    result = read_table((header + rows).encode(), "x.csv")
    schema = infer_schema(result.frame)
    assert {c.name: str(c.kind) for c in schema.columns} == {
        "id": "id", "age": "categorical", "name": "categorical", "empty": "empty", "const": "constant",
        "target3": "categorical", "html <b>": "boolean", '=HYPERLINK("x")': "id", "📈": "categorical"}
    assert schema.column("age").unique == 51  # 50 ages and 'unknown'
    assert result.warnings[0].startswith("column 'age': 5 of 200 values are not numbers ('unknown')")


def test_column_lookup_and_round_trip():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": text(["x", NAN, "y"]), "t": pd.to_datetime(["2020-01-01"] * 3)})
    schema = infer_schema(frame)
    assert schema.column("b").missing == pytest.approx(1 / 3)
    with pytest.raises(SpecError, match=re.escape("There is no column named 'zz'. The columns are: 'a', 'b', 't'.")):
        schema.column("zz")
    data = json.loads(json.dumps(schema.to_dict()))
    assert data["columns"][0] == {"name": "a", "kind": "numeric", "dtype": "int64", "missing": 0.0, "unique": 3,
                                  "examples": ["1", "2", "3"], "warnings": []}
    again = DatasetSchema.from_dict(data)
    assert again == schema
    assert isinstance(again.columns[0].kind, Kind)


@pytest.mark.parametrize("bad", [{}, {"rows": 1}, {"rows": 1, "columns": [{"name": "a"}]},
                                 {"version": 99, "rows": 1, "columns": []}])
def test_from_dict_refuses_other_shapes(bad):
    with pytest.raises(ValueError):
        DatasetSchema.from_dict(bad)


def test_non_string_names_and_object_columns():
    frame = pd.DataFrame({0: [1, 2], "o": pd.Series([[1], [2]], dtype=object), "c": pd.Categorical(["a", "b"])})
    schema = infer_schema(frame)
    assert schema.names == ["0", "o", "c"]
    assert [c.unique for c in schema.columns] == [2, 2, 2]


def test_large_frame_is_fast():
    rng = np.random.default_rng(0)
    n = 300_000
    frame = pd.DataFrame({
        **{f"f{i}": rng.normal(size=n) for i in range(6)},
        **{f"c{i}": pd.Series(rng.choice(["a", "b", "c", "d"], n), dtype="str") for i in range(3)},
        "id": np.arange(n),
        "when": pd.Series(["2020-01-02"] * n, dtype="str"),
    })
    start = time.perf_counter()
    schema = infer_schema(frame)
    assert time.perf_counter() - start < 10
    assert schema.column("id").kind == Kind.ID and schema.column("c0").kind == Kind.CATEGORICAL


# --- leakage --------------------------------------------------------------------------------------------------------

def leak_frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    target = text([">50K" if i % 3 == 0 else "<=50K" for i in range(n)])
    rich = target == ">50K"
    return pd.DataFrame({
        "income": target,
        "copy": target.copy(),
        "label": text(np.where(rich, "yes", "no")),
        "flag01": rich.astype(int),
        "bonus": np.where(rich, 1000.0, 0.0) + rng.uniform(0, 10, n),  # perfectly separates at a threshold
        "noise": rng.normal(size=n),
        "grade": text(np.where(rich, np.where(np.arange(n) % 2, "A", "B"), np.where(np.arange(n) % 2, "C", "D"))),
        "row": np.arange(n),  # an identifier "determines" anything; not a leak warning
        "group": text(["g1", "g2"] * (n // 2)),
    })


def test_leakage_candidates():
    found = leakage_candidates(leak_frame(), "income")
    assert [(w.column, w.reason) for w in found] == [
        ("copy", "identical"), ("label", "relabelled"), ("flag01", "relabelled"), ("bonus", "separates"),
        ("grade", "determines")]
    assert all(isinstance(w, LeakageWarning) and str(w) == w.message for w in found)
    assert found[0].message == ("column 'copy' holds the same values as the target 'income'; it gives the answer "
                                "away: leave it out")


def test_leakage_correlated_but_not_separating():
    n = 200
    y = np.array([i % 2 for i in range(n)])
    x = y * 100.0 + np.linspace(0, 1, n)
    x[0] = 100.5  # one row of class 0 among class 1's values breaks the perfect split; r stays near 1
    found = leakage_candidates(pd.DataFrame({"y": y, "x": x}), "y")
    assert [(w.column, w.reason) for w in found] == [("x", "correlated")]
    assert "r = +0.98" in found[0].message or "r = +0.99" in found[0].message


def test_leakage_ignores_missing_rows_and_tiny_overlaps():
    frame = leak_frame()
    frame.loc[:4, "income"] = NAN
    frame.loc[10:, "copy"] = NAN  # only 5 rows left where both are present: too few to judge
    found = {w.column: w.reason for w in leakage_candidates(frame, "income")}
    assert "copy" not in found and found["label"] == "relabelled"


def test_leakage_single_class_target_and_unknown_target():
    frame = pd.DataFrame({"y": ["a"] * 20, "x": ["a"] * 20})
    assert leakage_candidates(frame, "y") == []
    with pytest.raises(SpecError, match="no column named 'nope'"):
        leakage_candidates(frame, "nope")


def test_leakage_no_relabelling_claim_between_columns_of_distinct_values():
    """A continuous target (every value distinct) and any other column of distinct values map one to one; that is
    not leakage (regression: two independent random columns were reported as 'the target under other labels')."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "code": [f"c{i}" for i in range(200)],
                          "y": rng.normal(size=200)})
    frame["copy"] = frame["y"]
    assert [(w.column, w.reason) for w in leakage_candidates(frame, "y")] == [("copy", "identical")]


def test_leakage_multiclass_relabelling():
    y = text(["a", "b", "c"] * 10)
    frame = pd.DataFrame({"y": y, "code": y.map({"a": 1, "b": 2, "c": 3}), "other": [1, 2] * 15})
    assert [(w.column, w.reason) for w in leakage_candidates(frame, "y")] == [("code", "relabelled")]
