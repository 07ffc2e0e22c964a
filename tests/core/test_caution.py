"""The "too good to be true" caution: when it appears, which columns it names, and when it stays away."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.spec import DatasetSpec
from core.training.caution import HEADLINE, column_aucs, leakage_caution
from tests.leaky_data import leaky_loans


def spec_for(frame: pd.DataFrame) -> DatasetSpec:
    return DatasetSpec("d" * 64, "approved", "yes", tuple(c for c in frame.columns if c != "approved"))


def test_column_aucs_match_hand_values():
    frame = pd.DataFrame({"y": ["a", "b"] * 20, "x": [1.0, 2.0, 3.0, 4.0] * 10, "k": ["u", "u", "v", "v"] * 10})
    aucs = column_aucs(frame, DatasetSpec("d" * 64, "y", "b", ("x", "k")))
    # b rows take x = 2, 4; a rows x = 1, 3: 3 of 4 pairs ordered -> 0.75. k carries no signal: level rates 0.5
    assert aucs["x"] == pytest.approx(0.75)
    assert aucs["k"] == pytest.approx(0.5)


def test_a_column_that_separates_alone_is_named_even_at_a_modest_test_auc():
    frame = leaky_loans()
    caution = leakage_caution({"roc_auc": 0.93}, column_aucs(frame, spec_for(frame)))
    assert caution is not None
    assert [c for c, _ in caution.suspects] == ["decision_code", "approved_flag"]
    assert caution.message.startswith("Too good to be true: check for leakage.")
    assert "Test ROC AUC" not in caution.message  # 0.93 is not the reason; the columns are
    assert "'decision_code' (ROC AUC 1.000 alone), 'approved_flag' (ROC AUC 0.995 alone) each separate" \
        in caution.message
    assert caution.to_dict()["headline"] == HEADLINE


def test_a_near_perfect_test_auc_names_the_strongest_columns():
    frame = leaky_loans().drop(columns=["decision_code", "approved_flag"])
    caution = leakage_caution({"roc_auc": 0.995}, column_aucs(frame, spec_for(frame)))
    assert caution is not None and caution.test_auc == pytest.approx(0.995)
    assert "Test ROC AUC is 0.995" in caution.message
    assert [c for c, _ in caution.suspects] == ["income_k", "debt_ratio", "group"]


def test_no_caution_for_an_honest_run_or_without_an_auc():
    frame = leaky_loans().drop(columns=["decision_code", "approved_flag"])
    aucs = column_aucs(frame, spec_for(frame))
    assert leakage_caution({"roc_auc": 0.81}, aucs) is None
    assert leakage_caution({"roc_auc": float("nan")}, aucs) is None
    assert leakage_caution({}, {}) is None
    gone = leakage_caution({"roc_auc": 1.0}, {}, dataset_available=False)
    assert gone is not None and "no longer stored" in gone.message
