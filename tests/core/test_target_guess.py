"""Default target: chosen by evidence that generalises (name, classes, position, relation), shown with reasons.

Each frame copies the layout of a public dataset that a name list got wrong or could get wrong: a credit-default
flag among the features, a demographic two-class column, an outcome in second place after an identifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data._target import name_words
from core.data.schema import infer_schema
from core.data.spec import guess_target

N = 240
RNG = np.random.default_rng(0)


def pick(*values, n=N, missing=0):
    out = pd.Series(RNG.choice(values, n), dtype=object)
    if missing:
        out.iloc[:missing] = None
    return out


def guess(frame: pd.DataFrame):
    return guess_target(frame, infer_schema(frame))


def bank(outcome: str) -> pd.DataFrame:
    return pd.DataFrame({"age": RNG.integers(18, 90, N), "job": pick("admin", "services", "technician"),
                         "marital": pick("married", "single", "divorced"), "default": pick("yes", "no"),
                         "balance": RNG.normal(1000, 500, N).round(2), "housing": pick("yes", "no"),
                         "loan": pick("yes", "no"), outcome: pick("yes", "no")})


@pytest.mark.parametrize("outcome", ["y", "deposit"])
def test_bank_marketing_outcome_beats_the_credit_default_flag(outcome):
    result = guess(bank(outcome))
    assert result.column == outcome
    assert "it is the last column" in result.reasons


def test_titanic_layout_outcome_after_the_identifier():
    frame = pd.DataFrame({"PassengerId": np.arange(1, N + 1), "Survived": RNG.integers(0, 2, N),
                          "Pclass": RNG.integers(1, 4, N), "Name": [f"Passenger number {i}, Mr. X" for i in range(N)],
                          "Sex": pick("male", "female"), "Age": RNG.normal(30, 10, N).round(1),
                          "Fare": RNG.gamma(2, 10, N).round(2), "Embarked": pick("S", "C", "Q", missing=2)})
    result = guess(frame)
    assert result.column == "Survived"
    assert result.reasons[0] == "its name describes something that happened to the row"


def test_demographic_two_class_column_is_not_the_outcome():
    frame = pd.DataFrame({"ID": np.arange(N), "LIMIT_BAL": RNG.integers(1, 50, N) * 10_000,
                          "EDUCATION": RNG.integers(1, 5, N), "AGE": RNG.integers(21, 70, N),
                          "default payment next month": RNG.integers(0, 2, N), "SEX": RNG.integers(1, 3, N)})
    assert guess(frame).column == "default payment next month"


def test_adult_layout_and_explicit_label_names():
    frame = pd.DataFrame({"age": RNG.integers(17, 90, N), "workclass": pick("Private", "State-gov"),
                          "sex": pick("Male", "Female"), "race": pick("White", "Black", "Other"),
                          "hours-per-week": RNG.integers(1, 99, N), "income": pick("<=50K", ">50K")})
    assert guess(frame).column == "income"
    frame.insert(0, "class", pick("good", "bad"))  # an explicit label wins over position
    result = guess(frame)
    assert result.column == "class" and result.reasons[0] == "its name says it is the label"


def test_continuous_last_column_is_not_guessed():
    frame = pd.DataFrame({"rooms": RNG.integers(1, 6, N), "city": pick("a", "b", "c"), "has_garden": pick(0, 1),
                          "price": RNG.normal(3e5, 5e4, N).round(0)})
    result = guess(frame)
    assert result.column == "has_garden"
    assert result.explanation.startswith("its name describes something that happened to the row; it has two classes")


def test_name_words():
    assert name_words("loanStatus") == ["loan", "status"]
    assert name_words("is_fraud") == ["is", "fraud"]
    assert name_words("default payment next month") == ["default", "payment", "next", "month"]
