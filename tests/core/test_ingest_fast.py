"""The fast paths of ingest, schema, spec and leakage give exactly what the plain paths give (speed is in bench/)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from core.data import schema as schema_module
from core.data._columns import normalise_values
from core.data.ingest import read_table
from core.data.schema import describe_column, leakage_candidates
from core.data.spec import class_counts, label_text


def _parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def test_categorical_parquet_reads_like_the_same_text():
    text = pd.Series([" a ", "NA", "b", None, "?", "b"], dtype=object)
    plain = read_table(_parquet(pd.DataFrame({"c": text})), "x.parquet")
    categorical = read_table(_parquet(pd.DataFrame({"c": text.astype("category")})), "x.parquet")
    pd.testing.assert_series_equal(categorical.frame["c"], plain.frame["c"])
    assert categorical.frame["c"].isna().tolist() == [False, True, False, True, True, False]
    assert categorical.frame["c"][0] == "a"
    assert str(categorical.frame["c"].dtype) == str(plain.frame["c"].dtype)


def test_categorical_parquet_of_numbers_becomes_numbers():
    codes = pd.Series(pd.Categorical([3, 1, None, 3]))
    result = read_table(_parquet(pd.DataFrame({"n": codes})), "x.parquet").frame["n"]
    assert pd.api.types.is_float_dtype(result.dtype)
    assert result.tolist()[:2] == [3.0, 1.0] and np.isnan(result[2])


def test_kinds_are_judged_per_type_mixed_objects_stay_text():
    mixed = pd.Series([1, "x", 2.5, None] * 3, dtype=object)
    values, notes = normalise_values(mixed, "m")
    assert values.tolist()[:3] == ["1", "x", "2.5"] and notes == []
    flags, _ = normalise_values(pd.Series([True, None, False], dtype=object), "f")
    assert str(flags.dtype) == "boolean"
    unused = pd.Series(pd.Categorical(["a", "b"], categories=["a", "b", 7]))  # an unused number category
    text, _ = normalise_values(unused, "u")
    assert text.tolist() == ["a", "b"]


def test_distinct_count_of_floats_matches_pandas():
    values = pd.Series(np.random.default_rng(3).integers(0, 50, 5000).astype(np.float32) / 4)
    values[::7] = np.nan
    assert describe_column("v", values).unique == values.nunique()


@pytest.mark.parametrize("values", [[1.0, 0.0, np.nan, 1.0, 0.0], [1, "1", "a", "a", 2, None],
                                    ["b", "a", "a", "b", "c"], [True, False, False], [[1], [2], None, [1]]])
def test_class_counts_equal_value_counts_of_the_label_text(values):
    frame = pd.DataFrame({"t": pd.Series(values, dtype=object if isinstance(values[0], list) else None)})
    expected = label_text(frame["t"]).dropna().value_counts()
    if isinstance(values[0], list):
        assert label_text(frame["t"]).tolist() == ["[1]", "[2]", None, "[1]"]
        return
    pd.testing.assert_series_equal(class_counts(frame, "t"), expected)


def _leaky_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, n)
    noise = rng.standard_normal(n)
    sparse = np.full(n, np.nan)
    sparse[:40] = y[:40] * 10.0  # present in 40 rows only, and there it is the target
    return pd.DataFrame({
        "y": y,
        "noise": noise,
        "level": rng.integers(0, 5, n).astype(str),
        "copy": np.where(y == 1, "yes", "no"),
        "nearly": y + 0.05 * rng.standard_normal(n),  # r about 0.995: correlated, not a clean threshold
        "sparse": sparse,
        "weak": y + 2.0 * noise,
    })


def test_screened_leakage_finds_exactly_what_the_full_check_finds(monkeypatch):
    frame = _leaky_table(6000)
    monkeypatch.setattr(schema_module, "LEAKAGE_SCREEN_ROWS", 10**9)
    full = [(w.column, w.reason) for w in leakage_candidates(frame, "y")]
    monkeypatch.setattr(schema_module, "LEAKAGE_SCREEN_ROWS", 1500)
    monkeypatch.setattr(schema_module, "SCREEN_MIN_PRESENT", 100)
    screened = [(w.column, w.reason) for w in leakage_candidates(frame, "y")]
    assert screened == full
    assert {c for c, _ in full} == {"copy", "nearly", "sparse"}
