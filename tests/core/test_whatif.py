"""What-if editing and counterfactual hints on the synthetic loans table, whose true effects are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import ConfigError
from core.explain import Scorer, counterfactuals, edit_row, matching_rows, near_threshold
from core.explain._whatif import NOT_A_NUMBER, UNKNOWN_FEATURE
from tests.core.test_explain import _synthetic_model


@pytest.fixture(scope="module")
def loans():
    frame, pre, model = _synthetic_model("mlp")
    scorer = Scorer(model=model, preprocessor=pre, threshold=0.5)
    return frame.drop(columns="approved"), scorer


def test_scores_match_the_model_and_the_threshold(loans):
    frame, scorer = loans
    scores = scorer.score(frame.iloc[:50])
    assert ((scores["probability"] >= 0.5) == scores["positive"]).all()
    np.testing.assert_allclose(scores["probability"], 1 / (1 + np.exp(-scores["logit"])), atol=1e-12)
    strict = Scorer(model=scorer.model, preprocessor=scorer.preprocessor, threshold=0.9)
    assert strict.score(frame.iloc[:50])["positive"].sum() <= scores["positive"].sum()
    assert strict.threshold_logit == pytest.approx(np.log(9))


def test_edits_move_the_score_in_the_known_direction(loans):
    frame, scorer = loans
    row = frame.iloc[[7]]
    before = scorer.score(row)["probability"].item()
    richer = scorer.score(edit_row(row, {"income_k": float(row["income_k"].item()) + 2}, scorer.preprocessor,
                                   frame))["probability"].item()
    indebted = scorer.score(edit_row(row, {"debt_ratio": float(row["debt_ratio"].item()) + 2},
                                     scorer.preprocessor, frame))["probability"].item()
    assert richer > before > indebted
    business = scorer.score(edit_row(row, {"segment": "business"}, scorer.preprocessor, frame))["probability"].item()
    student = scorer.score(edit_row(row, {"segment": "student"}, scorer.preprocessor, frame))["probability"].item()
    assert business > student  # true segment effects +0.8 and -0.6
    assert row["income_k"].item() == frame.iloc[7]["income_k"]  # the original row is untouched


def test_edits_respect_kinds_and_known_categories(loans):
    frame, scorer = loans
    row = frame.iloc[[0]]
    with pytest.raises(ConfigError, match="takes one of the known values"):
        edit_row(row, {"segment": "pirate"}, scorer.preprocessor, frame)
    with pytest.raises(ConfigError, match=NOT_A_NUMBER.format(name="income_k", value="lots")):
        edit_row(row, {"income_k": "lots"}, scorer.preprocessor, frame)
    with pytest.raises(ConfigError, match=UNKNOWN_FEATURE.format(name="x", names="").split(";")[0]):
        edit_row(row, {"x": 1.0}, scorer.preprocessor, frame)
    missing = edit_row(row, {"income_k": None}, scorer.preprocessor, frame)
    assert np.isnan(missing["income_k"].item())
    assert np.isfinite(scorer.score(missing)["logit"].item())  # missing numbers are imputed as in training


def test_every_counterfactual_flips_and_never_touches_immutable_columns(loans):
    frame, scorer = loans
    scores = scorer.score(frame)
    position = near_threshold(scores["probability"].to_numpy(), 0.5, rejected=True)
    row = frame.iloc[[position]]
    assert not scores["positive"].iat[position]
    immutable = {"group", "income_k"}
    hints = counterfactuals(scorer, row, frame, immutable=immutable)
    assert hints
    for hint in hints:
        changed = {name for name, _, _ in hint.changes}
        assert not changed & immutable
        edited = edit_row(row, {name: new for name, _, new in hint.changes}, scorer.preprocessor, frame)
        rescored = scorer.score(edited).iloc[0]
        assert rescored["positive"] and hint.positive
        assert rescored["probability"] == pytest.approx(hint.probability, abs=1e-9)
        assert hint.describe().startswith("Change ")
    sizes = [len(h.changes) for h in hints]
    assert sizes == sorted(sizes)


def test_pairs_are_searched_when_no_single_change_flips(loans):
    frame, scorer = loans
    frozen = [c for c in frame.columns if c not in ("debt_ratio", "tenure_years")]
    scores = scorer.score(frame.iloc[:300])
    rejected = np.flatnonzero(~scores["positive"].to_numpy())
    checked = 0
    for position in rejected[np.argsort(-scores["probability"].to_numpy()[rejected])]:
        row = frame.iloc[[position]]
        hints = counterfactuals(scorer, row, frame, immutable=frozen, max_values=10)
        if not hints or len(hints[0].changes) == 1:
            continue
        checked += 1
        for hint in hints:  # no single change flipped this row, so every hint changes both mutable features
            assert {name for name, _, _ in hint.changes} == {"debt_ratio", "tenure_years"}
            edited = edit_row(row, {name: new for name, _, new in hint.changes}, scorer.preprocessor, frame)
            assert scorer.score(edited)["positive"].item()
        for name in ("debt_ratio", "tenure_years"):
            alone = counterfactuals(scorer, row, frame, immutable=[*frozen, name], max_values=10)
            assert not alone
        if checked == 1:
            break
    assert checked >= 1


def test_row_pickers():
    p = np.array([0.1, 0.45, 0.49, 0.51, 0.9])
    assert near_threshold(p, 0.5) == 2
    assert near_threshold(p, 0.5, rejected=False) == 3
    with pytest.raises(ConfigError, match="no row in the sample is below"):
        near_threshold(np.array([0.7]), 0.5)
    frame = pd.DataFrame({"age": [20, 35, 50], "sex": ["F", "M", "F"]})
    assert matching_rows(frame, {"sex": "F", "age": (30, 60)}).tolist() == [2]


def test_probabilities_show_enough_digits_to_read_against_the_threshold():
    from core.text import probability_text

    assert probability_text(0.4993, 0.5) == "49.9%" and probability_text(0.50002, 0.5) == "50.002%"
    assert probability_text(0.49999, 0.5) == "49.999%" and probability_text(0.87) == "87.0%"


def test_weights_and_identifiers_are_frozen_by_default():
    from core.explain import default_frozen

    frame = pd.DataFrame({"fnlwgt": range(100), "customer_id": range(100), "age": [20, 30] * 50,
                          "serial": [f"s{i}" for i in range(100)], "education": ["a", "b"] * 50,
                          "income": np.linspace(1, 2, 100)})
    assert default_frozen(frame, list(frame.columns)) == ["fnlwgt", "customer_id", "serial"]
