"""Stratified split: sizes, disjointness, class balance, determinism, JSON round trip, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import SpecError
from core.models.split import SplitIndices, class_quotas, min_rows_per_class, stratified_split


def _labels(n_pos: int = 300, n_neg: int = 700, seed: int = 0) -> np.ndarray:
    y = np.array(["yes"] * n_pos + ["no"] * n_neg, dtype=object)
    return np.random.default_rng(seed).permutation(y)


def test_parts_are_sorted_disjoint_and_cover_every_row() -> None:
    y = _labels()
    split = stratified_split(y)
    assert split.train.dtype == split.val.dtype == split.test.dtype == np.int64
    for part in (split.train, split.val, split.test):
        assert np.all(np.diff(part) > 0)
    merged = np.concatenate([split.train, split.val, split.test])
    assert np.array_equal(np.sort(merged), np.arange(1000))
    assert (len(split.train), len(split.val), len(split.test)) == (700, 150, 150)
    assert split.n_rows == 1000


def test_class_balance_is_kept_in_each_part() -> None:
    y = _labels()
    split = stratified_split(y, val_fraction=0.2, test_fraction=0.1, seed=3)
    for part in (split.train, split.val, split.test):
        assert np.mean(y[part] == "yes") == pytest.approx(0.3, abs=0.01)


def test_same_seed_same_split_other_seed_other_split() -> None:
    y = _labels()
    assert stratified_split(y, seed=7) == stratified_split(y, seed=7)
    assert stratified_split(y, seed=7) != stratified_split(y, seed=8)


def test_json_round_trip() -> None:
    split = stratified_split(_labels())
    again = SplitIndices.from_dict(json.loads(json.dumps(split.to_dict())))
    assert again == split


def test_from_dict_rejects_overlap_and_garbage() -> None:
    with pytest.raises(SpecError, match="more than one part"):
        SplitIndices.from_dict({"train": [0, 1], "val": [1], "test": [2]})
    with pytest.raises(SpecError, match="malformed"):
        SplitIndices.from_dict({"train": [0, 1], "val": [2]})
    with pytest.raises(SpecError, match="row positions >= 0"):
        SplitIndices.from_dict({"train": [-1], "val": [2], "test": [3]})


def test_rare_class_is_named_with_its_count() -> None:
    y = np.array(["a"] * 50 + ["b"] * 50 + ["rare"] * 3)
    with pytest.raises(SpecError, match=r"class 'rare' of the target has only 3 rows; .* at least 7 rows"):
        stratified_split(y)


def test_minimum_rows_rule() -> None:
    assert min_rows_per_class(0.15, 0.15) == 7
    assert min_rows_per_class(0.5, 0.3) == 4
    y = np.array([0] * 7 + [1] * 7 + [2] * 30)
    split = stratified_split(y)  # exactly at the minimum: every class lands in every part
    for part in (split.train, split.val, split.test):
        assert set(y[part]) == {0, 1, 2}


def test_single_class_and_missing_target_and_bad_fractions() -> None:
    with pytest.raises(SpecError, match="only one class"):
        stratified_split(np.zeros(100, dtype=int))
    with pytest.raises(SpecError, match=r"has 20 missing value\(s\)"):
        stratified_split(np.array([0.0, 1.0, np.nan, np.nan] * 10 + [0.0, 1.0] * 20))
    with pytest.raises(SpecError, match="no rows"):
        stratified_split(np.array([]))
    with pytest.raises(SpecError, match="fractions"):
        stratified_split(_labels(), val_fraction=0.5, test_fraction=0.45)


def test_class_quotas_are_whole_shares_plus_the_largest_remainders() -> None:
    # 15 of 100 rows: shares 1.5, 1.95, 11.55 -> floors 1, 1, 11 and the 2 rows left go to .95 and .55
    assert class_quotas(np.array([10, 13, 77]), 0.15).tolist() == [1, 2, 12]
    assert class_quotas(np.array([300, 700]), 0.15).tolist() == [45, 105]  # exact shares need no rounding
    assert class_quotas(np.array([5, 5]), 0.25).tolist() == [2, 1]  # ceil(2.5) = 3 rows; the tie to the first class


def test_each_part_holds_each_class_s_quota() -> None:
    y = np.random.default_rng(2).permutation(np.repeat(["a", "b", "c"], [10, 13, 77]))
    split = stratified_split(y)  # test 15 rows drawn first, then validation 15 of the 85 left
    assert [int(np.sum(y[split.test] == c)) for c in "abc"] == [1, 2, 12]
    left = np.array([9, 11, 65])
    assert [int(np.sum(y[split.val] == c)) for c in "abc"] == class_quotas(left, 0.15 / 0.85).tolist()
    assert [int(np.sum(y[split.train] == c)) for c in "abc"] == (left - class_quotas(left, 0.15 / 0.85)).tolist()


def test_a_class_at_the_minimum_reaches_every_part_even_with_large_held_out_fractions() -> None:
    # 44% + 45% held out: three rows a class is the minimum, and rounding the quotas alone (as scikit-learn's
    # stratified split did) left classes 0 and 1 out of the training part here
    y = np.repeat([0, 1, 2, 3], [3, 3, 3, 40])
    split = stratified_split(y, val_fraction=0.44, test_fraction=0.45)
    for part in (split.train, split.val, split.test):
        assert set(y[part].tolist()) == {0, 1, 2, 3}
    assert (len(split.train), len(split.val), len(split.test)) == (7, 20, 22)
