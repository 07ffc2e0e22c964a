"""Leakage-safe defaults: the single-column AUC check, and every flagged column left out of the suggested spec."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.schema import infer_schema, leakage_candidates, single_column_auc
from core.data.spec import suggest_spec
from tests.leaky_data import LEAKY_COLUMNS, leaky_loans


def test_single_column_auc_hand_values():
    y = np.array([0, 1, 0, 1] * 3)
    # positives {2, 4} vs negatives {1, 3}: 3 of 4 pairs ordered right, on every repeat
    assert single_column_auc(pd.Series([1.0, 2.0, 3.0, 4.0] * 3), y) == pytest.approx(0.75)
    # ties count half: an uninformative score is 0.5, and a reversed one counts as strong as a direct one
    assert single_column_auc(pd.Series([1.0, 1.0, 2.0, 2.0] * 3), y) == pytest.approx(0.5)
    assert single_column_auc(pd.Series([4.0, 3.0, 2.0, 1.0] * 3), y[::-1].copy()) == pytest.approx(0.75)


def test_single_column_auc_of_levels_uses_level_rates():
    # 2 levels x 20 rows: level 0 has 2 positives of 20, level 1 has 18 of 20
    y = np.array([1] * 2 + [0] * 18 + [1] * 18 + [0] * 2)
    codes = np.array([0] * 20 + [1] * 20)
    # pos scores: 2 at 0.1, 18 at 0.9; neg: 18 at 0.1, 2 at 0.9 -> (18*18 + 0.5*(2*18 + 18*2)) / 400
    expected = (18 * 18 + 0.5 * (2 * 18 + 18 * 2)) / 400
    assert single_column_auc(pd.Series(codes.astype(str)), y, codes=codes) == pytest.approx(expected)
    # too many levels for their rows: the in-sample rates would overfit, so no verdict
    assert single_column_auc(pd.Series(np.arange(40).astype(str)), y, codes=np.arange(40)) is None


def test_near_duplicate_and_encoded_target_are_flagged():
    frame = leaky_loans()
    found = {w.column: w for w in leakage_candidates(frame, "approved")}
    assert set(found) == set(LEAKY_COLUMNS)
    assert found["decision_code"].reason == "relabelled"
    flag = found["approved_flag"]
    assert flag.reason == "predicts"
    yes = frame["approved"] == "yes"
    a = frame.loc[yes, "approved_flag"].mean()  # share of positives scored 1
    b = frame.loc[~yes, "approved_flag"].mean()  # share of negatives scored 1
    auc = a * (1 - b) + 0.5 * (a * b + (1 - a) * (1 - b))
    assert f"ROC AUC {auc:.3f} on 800 rows" in flag.message
    assert 0.99 <= auc < 1


def test_suggested_spec_leaves_every_flagged_column_out_with_its_reason():
    frame = leaky_loans()
    suggestion = suggest_spec(frame, infer_schema(frame), "d" * 64, target="approved")
    for column in LEAKY_COLUMNS:
        assert column not in suggestion.spec.features
        assert suggestion.excluded[column].startswith("possible target leakage: column ")
    assert "ROC AUC 0.99" in suggestion.excluded["approved_flag"]
    assert set(suggestion.spec.features) == {"income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"}


def test_honest_columns_stay_in():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    frame = pd.DataFrame({"y": y, "weak": y + rng.normal(0, 1.5, 500), "other": rng.normal(size=500)})
    suggestion = suggest_spec(frame, infer_schema(frame), "d" * 64, target="y")
    assert suggestion.spec.features == ("weak", "other") and suggestion.excluded == {}
