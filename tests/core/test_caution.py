"""The "too good to be true" caution: when it appears, which columns it names, and when it stays away."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.spec import DatasetSpec
from core.training.caution import HEADLINE, column_aucs, leakage_caution, repeated_test_rows
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


def test_each_cause_names_its_evidence():
    frame = leaky_loans()
    column = leakage_caution({"roc_auc": 0.999}, column_aucs(frame, spec_for(frame)), duplicates=0, test_rows=120)
    assert column.cause == "column" and column.headline == HEADLINE
    assert column.to_dict()["evidence"] == {"columns_separating_alone": ["decision_code", "approved_flag"],
                                            "test_rows_repeated_in_training": 0, "test_rows": 120}
    honest = {"pixel_a": 0.71, "pixel_b": 0.64}
    repeated = leakage_caution({"roc_auc": 0.995}, honest, duplicates=30, test_rows=120)
    assert repeated.cause == "duplicates"
    assert repeated.message == (
        "Test rows repeat training rows: the test score partly measures memory. Test ROC AUC is 0.995. No single "
        "column separates the classes on its own (the strongest, 'pixel_a' (ROC AUC 0.710 alone), 'pixel_b' (ROC "
        "AUC 0.640 alone), fall well short). But 30 of the 120 test rows (25%) repeat a training row exactly, so "
        "the model was tested partly on rows it has seen. Remove duplicate rows before training (or split by the "
        "entity the rows describe) for an honest score.")
    clean = leakage_caution({"roc_auc": 0.995}, honest, duplicates=0, test_rows=120)
    assert clean.cause == "none_found" and clean.headline == "a very high score, and no sign of leakage"
    assert "No single column separates the classes on its own" in clean.message
    assert "No column gives the answer away and none of the 120 test rows repeat a training row. A table of " \
           "images, sensor readings" in clean.message


def test_repeated_test_rows_counts_exact_feature_copies():
    frame = pd.DataFrame({"a": [1.0, 2.0, 1.0, None, None, 3.0], "b": ["x", "y", "x", "z", "z", "y"]})
    # test rows 2 (copy of row 0) and 4 (copy of row 3, missing values equal) repeat; row 5 does not
    assert repeated_test_rows(frame, ("a", "b"), np.array([0, 1, 3]), np.array([2, 4, 5])) == 2
    assert repeated_test_rows(frame, ("b",), np.array([0, 1, 3]), np.array([2, 4, 5])) == 3


@pytest.mark.parametrize("seed", range(6))
def test_repeated_test_rows_equal_a_comparison_of_whole_rows(seed):
    """Rows are keyed on a few columns first, then compared in full: copies that differ only in a later column
    are not repeats, and the count is the one comparing every test row with every training row."""
    rng = np.random.default_rng(seed)
    n = 600
    frame = pd.DataFrame({f"f{i}": np.round(rng.normal(size=n), 1) for i in range(5)}
                         | {"level": rng.choice(["a", "b", None], n), "k": rng.integers(0, 3, n)})
    source = rng.integers(0, n, 150)
    frame.iloc[n - 150:] = frame.iloc[source].to_numpy()  # the last 150 rows copy earlier ones...
    frame.loc[frame.index[n - 150::3], "k"] = 7  # ...but every third differs in its last column
    order = rng.permutation(n)
    train, test = order[:400], order[400:]

    def copies(columns: list[str]) -> int:
        text = frame[columns].astype(object).where(frame[columns].notna(), "<missing>").map(str)
        rows = text.agg("|".join, axis=1).to_numpy()
        return int(np.isin(rows[test], rows[train]).sum())

    assert copies(list(frame.columns)) > 0
    assert repeated_test_rows(frame, tuple(frame.columns), train, test) == copies(list(frame.columns))
    assert repeated_test_rows(frame, ("level", "k"), train, test) == copies(["level", "k"])
