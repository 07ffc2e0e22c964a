"""TabularPreprocessor: hand-checked encodings, rare/unseen/missing levels, exact JSON round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core.errors import ConfigError, SpecError
from core.models.preprocess import TabularPreprocessor

STD = math.sqrt(118.75)  # population std of [20, 30, 30, 50]


def _train() -> pd.DataFrame:
    return pd.DataFrame({
        "age": [20.0, 30.0, np.nan, 50.0],
        "const": [1, 1, 1, 1],
        "color": ["red", "red", "blue", None],
    })


def _fitted(**kwargs) -> TabularPreprocessor:
    params = {"numeric": ["age", "const"], "categorical": ["color"], "min_count": 2} | kwargs
    return TabularPreprocessor(**params).fit(_train())


def test_fitted_statistics_and_layout() -> None:
    pre = _fitted()
    assert pre.medians_ == {"age": 30.0, "const": 1.0}
    assert pre.means_ == {"age": 32.5, "const": 1.0}
    assert pre.scales_ == {"age": pytest.approx(STD, rel=1e-15), "const": 1.0}
    assert pre.indicators_ == ["age"]  # only columns with missing values in training get an indicator
    assert pre.levels_ == {"color": ["red"]}  # 'blue' has 1 row < min_count 2
    assert pre.encoded_names_ == ["age", "age (missing)", "const", "color=red", "color: other", "color: missing"]
    assert pre.feature_map_ == {"age": "age", "age (missing)": "age", "const": "const", "color=red": "color",
                                "color: other": "color", "color: missing": "color"}
    assert pre.groups() == {"age": [0, 1], "const": [2], "color": [3, 4, 5]}
    assert pre.n_outputs == 6 and pre.n_train_rows_ == 4


def test_transform_hand_values() -> None:
    pre = _fitted()
    test = pd.DataFrame({"age": [np.nan, 41.4, np.inf], "const": [1, 2, 1], "color": ["green", "red", np.nan]})
    X = pre.transform(test)
    expected = np.array([
        [(30 - 32.5) / STD, 1, 0, 0, 1, 0],  # missing age -> median + indicator; unseen level -> other
        [(41.4 - 32.5) / STD, 0, 1, 1, 0, 0],  # constant column: (2 - 1) / 1
        [(30 - 32.5) / STD, 1, 0, 0, 0, 1],  # inf counts as missing; NaN level -> missing
    ], dtype=np.float32)
    assert X.dtype == np.float32 and X.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(X, expected)
    train_X = pre.transform(_train())
    np.testing.assert_array_equal(train_X[:, 4], [0, 0, 1, 0])  # rare training level 'blue' -> other
    np.testing.assert_allclose(train_X[:, 0].mean(), 0, atol=1e-7)
    np.testing.assert_allclose(train_X[:, 0].std(), 1, atol=1e-6)


def test_numeric_without_missing_in_train_gets_no_indicator_but_is_imputed() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    pre = TabularPreprocessor(numeric=["x"]).fit(train)
    assert pre.encoded_names_ == ["x"]
    X = pre.transform(pd.DataFrame({"x": [np.nan]}))
    assert X.shape == (1, 1)
    assert X[0, 0] == pytest.approx(0.0)  # median 2.5 == mean 2.5


def test_transform_does_not_change_the_input_frame() -> None:
    frame = _train()
    copy = frame.copy()
    _fitted().transform(frame)
    pd.testing.assert_frame_equal(frame, copy)


def test_max_levels_keeps_the_most_frequent_and_names_are_sorted() -> None:
    values = ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 3
    pre = TabularPreprocessor(categorical=["g"], min_count=1, max_levels=3).fit(pd.DataFrame({"g": values}))
    assert pre.levels_ == {"g": ["a", "b", "c"]}  # ties broken by name, then listed alphabetically
    X = pre.transform(pd.DataFrame({"g": ["d", "a"]}))
    np.testing.assert_array_equal(X, [[0, 0, 0, 1, 0], [1, 0, 0, 0, 0]])


def test_integer_codes_match_when_missing_values_turn_them_into_floats() -> None:
    pre = TabularPreprocessor(categorical=["code"], min_count=1).fit(pd.DataFrame({"code": [1, 2, 2, 3]}))
    assert pre.levels_ == {"code": ["1", "2", "3"]}
    X = pre.transform(pd.DataFrame({"code": [2.0, np.nan, 7.0]}))
    np.testing.assert_array_equal(X, [[0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0]])


def test_booleans_are_categories() -> None:
    pre = TabularPreprocessor(categorical=["flag"], min_count=1).fit(pd.DataFrame({"flag": [True, False, True]}))
    assert pre.encoded_names_ == ["flag=False", "flag=True", "flag: other", "flag: missing"]
    X = pre.transform(pd.DataFrame({"flag": pd.array([True, None], dtype="boolean")}))
    np.testing.assert_array_equal(X, [[0, 1, 0, 0], [0, 0, 0, 1]])


def test_string_and_object_dtypes_encode_identically() -> None:
    values = ["x", "y", None, "x", "z"] * 10
    as_object = pd.DataFrame({"c": pd.Series(values, dtype=object), "n": np.arange(50.0)})
    as_str = pd.DataFrame({"c": pd.Series(values, dtype="str"), "n": np.arange(50.0)})
    pre = TabularPreprocessor(numeric=["n"], categorical=["c"]).fit(as_object)
    np.testing.assert_array_equal(pre.transform(as_object), pre.transform(as_str))
    assert TabularPreprocessor(numeric=["n"], categorical=["c"]).fit(as_str).to_json() == pre.to_json()


def test_json_round_trip_is_exact() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300) * 1e-3 + 0.1, "b": rng.integers(0, 5, 300).astype(float),
                          "c": rng.choice(["p", "q", "r", "é ü"], 300)})
    frame.loc[::7, "b"] = np.nan
    pre = TabularPreprocessor(numeric=["a", "b"], categorical=["c"]).fit(frame)
    text = pre.to_json()
    json.loads(text)  # strict JSON
    again = TabularPreprocessor.from_json(text)
    assert again.to_json() == text
    assert again.means_ == pre.means_ and again.scales_ == pre.scales_
    assert again.groups() == pre.groups() and again.feature_map_ == pre.feature_map_
    np.testing.assert_array_equal(again.transform(frame), pre.transform(frame))


def test_unfitted_round_trip_and_errors() -> None:
    pre = TabularPreprocessor(numeric=["a"], categorical=["b"], min_count=3, max_levels=7)
    again = TabularPreprocessor.from_json(pre.to_json())
    assert not again.is_fitted and again.min_count == 3 and again.max_levels == 7
    with pytest.raises(ConfigError, match="not fitted"):
        pre.transform(pd.DataFrame({"a": [1.0], "b": ["x"]}))
    with pytest.raises(ConfigError, match="not JSON"):
        TabularPreprocessor.from_json("{nope")
    with pytest.raises(ConfigError, match=r"not a riskboard\.tabular_preprocessor"):
        TabularPreprocessor.from_json('{"format": "other"}')
    broken = json.loads(_fitted().to_json())
    del broken["fitted"]["means"]["age"]
    with pytest.raises(ConfigError, match="malformed"):
        TabularPreprocessor.from_json(json.dumps(broken))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "at least one feature"),
    ({"numeric": ["a", "a"]}, "listed twice"),
    ({"numeric": ["a"], "categorical": ["a"]}, "both numeric and categorical"),
    ({"numeric": ["a"], "min_count": 0}, "min_count"),
    ({"numeric": ["a"], "max_levels": 1.5}, "max_levels"),
])
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TabularPreprocessor(**kwargs)


def test_bad_tables() -> None:
    pre = _fitted()
    with pytest.raises(SpecError, match=r"lacks feature column\(s\) 'color'"):
        pre.transform(pd.DataFrame({"age": [1.0], "const": [1]}))
    with pytest.raises(SpecError, match=r"'age' is treated as numeric .* 'ten'"):
        pre.transform(pd.DataFrame({"age": pd.Series([1, "ten"], dtype=object), "const": [1, 1],
                                    "color": ["red", "red"]}))
    with pytest.raises(SpecError, match="no training rows"):
        TabularPreprocessor(numeric=["age"]).fit(_train().iloc[:0])


def _mixed_table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": np.where(rng.random(n) < 0.05, np.nan, rng.normal(size=n)),
        "k": rng.integers(0, 5, n),
        "inf": np.where(rng.random(n) < 0.02, np.inf, rng.normal(size=n)),
        "city": pd.array(rng.choice(["a", "b", "c", "rare", None], n, p=[0.4, 0.3, 0.2, 0.003, 0.097]), dtype="str"),
        "flag": rng.random(n) < 0.3,
        "code": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 30, n).astype(float)),
    })
    frame.loc[frame.index[-40:], "city"] = "only-in-the-last-rows"  # a level the training rows never see
    return frame


def test_fit_and_transform_on_rows_equal_fitting_and_encoding_the_copied_rows() -> None:
    """``fit(frame, rows)`` and ``transform_parts(frame, parts)`` read each column once and copy no rows out: the
    statistics and every encoded array are exactly those of ``fit(frame.iloc[rows])`` / ``transform(frame.iloc[p])``."""
    frame = _mixed_table()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(frame))
    train, val, test = np.sort(order[:2000]), np.sort(order[2000:2500]), order[2500:]  # test unsorted on purpose
    train = train[train < len(frame) - 40]
    params = {"numeric": ["x", "k", "inf"], "categorical": ["city", "flag", "code"], "min_count": 5}
    on_rows = TabularPreprocessor(**params).fit(frame, train)
    copied = TabularPreprocessor(**params).fit(frame.iloc[train])
    assert on_rows.to_json() == copied.to_json()
    assert "only-in-the-last-rows" not in on_rows.levels_["city"]
    parts = on_rows.transform_parts(frame, (train, val, test, None))
    for part, encoded in zip((train, val, test), parts, strict=False):
        expected = copied.transform(frame.iloc[part])
        assert encoded.dtype == np.float32 and encoded.flags.c_contiguous
        np.testing.assert_array_equal(encoded, expected)
    np.testing.assert_array_equal(parts[3], copied.transform(frame))
    np.testing.assert_array_equal(on_rows.transform(frame, val), parts[1])
    with pytest.raises(SpecError, match="no training rows"):
        TabularPreprocessor(**params).fit(frame, np.array([], dtype=np.int64))


def test_all_missing_numeric_column_is_usable() -> None:
    pre = TabularPreprocessor(numeric=["x"]).fit(pd.DataFrame({"x": [np.nan, np.nan]}))
    assert pre.medians_ == {"x": 0.0} and pre.encoded_names_ == ["x", "x (missing)"]
    np.testing.assert_array_equal(pre.transform(pd.DataFrame({"x": [np.nan, 2.0]})), [[0, 1], [2, 0]])
    json.loads(pre.to_json())


def test_rows_encoded_block_by_block_equal_the_closed_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """Numeric columns are written a block of rows at a time (cache-sized on real tables; 7 rows here so blocks
    split the table everywhere): missing values only in a later block, rows asked for out of order, and still
    exactly ``(x - mean) / scale`` with the median for a missing value and its indicator set."""
    monkeypatch.setattr("core.models.preprocess.ROW_BLOCK", 7)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50) * 3 + 1
    x[[31, 44]] = np.nan
    frame = pd.DataFrame({"x": x, "y": y, "c": rng.choice(["a", "b", "c"], size=50)})
    pre = TabularPreprocessor(numeric=["x", "y"], categorical=["c"], min_count=1).fit(frame)
    assert pre.encoded_names_[:3] == ["x", "x (missing)", "y"]
    expected = np.column_stack([
        (np.where(np.isnan(x), np.nanmedian(x), x) - pre.means_["x"]) / pre.scales_["x"],
        np.isnan(x),
        (y - pre.means_["y"]) / pre.scales_["y"],
    ]).astype(np.float32)
    rows = rng.permutation(50)
    for encoded, wanted in ((pre.transform(frame), expected), (pre.transform(frame, rows), expected[rows])):
        np.testing.assert_array_equal(encoded[:, :3], wanted)
        assert np.all(encoded[:, 3:].sum(axis=1) == 1)  # exactly one hot level per row
