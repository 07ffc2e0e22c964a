"""Dataset spec: validation errors, label encoding, sensitive groups and suggestions, with hand-built tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.demo import SYNTHETIC_TRUTH, synthetic_biased
from core.data.schema import infer_schema
from core.data.spec import (
    MIN_CLASS_ROWS,
    DatasetSpec,
    SensitiveColumn,
    class_counts,
    encode_labels,
    label_text,
    sensitive_groups,
    suggest_sensitive,
    suggest_spec,
    validate_spec,
)
from core.errors import SpecError

DSID = "a" * 64


def table(n_pos: int = 30, n_neg: int = 30) -> pd.DataFrame:
    n = n_pos + n_neg
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "x": rng.standard_normal(n),
        "colour": np.where(np.arange(n) % 2 == 0, "red", "blue"),
        "sex": np.where(np.arange(n) % 3 == 0, "F", "M"),
        "age": np.arange(n) + 20.0,
        "y": ["yes"] * n_pos + ["no"] * n_neg,
    })


def spec_for(frame: pd.DataFrame, **overrides) -> DatasetSpec:
    fields = {"dataset_id": DSID, "target": "y", "positive_class": "yes", "features": ("x", "colour"),
              "sensitive": (SensitiveColumn("sex"),)}
    fields.update(overrides)
    return DatasetSpec(**fields)


def test_valid_spec_passes_without_warnings():
    frame = table()
    assert validate_spec(frame, spec_for(frame)) == []


@pytest.mark.parametrize(("overrides", "message"), [
    ({"target": "nope"}, "not in this table"),
    ({"features": ()}, "No feature columns"),
    ({"features": ("x", "y")}, "also selected as a feature"),
    ({"features": ("x", "ghost")}, "not in this table"),
    ({"sensitive": (SensitiveColumn("ghost"),)}, "not in this table"),
    ({"positive_class": "maybe"}, "does not occur"),
    ({"sensitive": (SensitiveColumn("y"),)}, "is the target itself"),
])
def test_invalid_specs_raise_clear_errors(overrides, message):
    frame = table()
    with pytest.raises(SpecError, match=message):
        validate_spec(frame, spec_for(frame, **overrides))


def test_single_class_target_is_refused():
    frame = table(n_pos=40, n_neg=0)
    with pytest.raises(SpecError, match="single class"):
        validate_spec(frame, spec_for(frame))


def test_class_with_fewer_than_20_rows_is_refused():
    frame = table(n_pos=MIN_CLASS_ROWS - 1, n_neg=50)
    with pytest.raises(SpecError, match=r"at least 20 rows.*'yes' has 19"):
        validate_spec(frame, spec_for(frame))


def test_feature_identical_to_target_is_leakage_even_when_relabelled():
    frame = table()
    frame["leak"] = frame["y"].map({"yes": 1, "no": 0})
    with pytest.raises(SpecError, match="'leak' holds the same information"):
        validate_spec(frame, spec_for(frame, features=("x", "leak")))


def test_sensitive_column_equal_to_target_under_another_name():
    frame = table()
    frame["copy"] = frame["y"]
    with pytest.raises(SpecError, match="'copy' is the target itself"):
        validate_spec(frame, spec_for(frame, sensitive=(SensitiveColumn("copy"),)))


def test_missing_target_rows_and_small_groups_are_warnings():
    frame = table()
    frame.loc[0, "y"] = None
    frame["tiny"] = ["rare"] * 3 + ["common"] * (len(frame) - 3)
    warnings = validate_spec(frame, spec_for(frame, sensitive=(SensitiveColumn("tiny"),)))
    assert warnings[0] == "1 row has no value in 'y'; it is left out of training."
    assert "'tiny': 1 group has fewer than 20 rows ('rare')" in warnings[1]


def test_binary_labels_put_positive_class_last():
    frame = pd.DataFrame({"y": ["b", "a", None, "b", "a"]})
    labels = encode_labels(frame, DatasetSpec(DSID, "y", "a", ("y",)))
    assert labels.classes == ("b", "a")
    assert labels.positive_index == 1
    assert labels.y.tolist() == [0, 1, 0, 1]
    assert labels.kept.tolist() == [True, True, False, True, True]


def test_multiclass_labels_are_sorted_and_positive_index_points_at_choice():
    frame = pd.DataFrame({"y": ["c", "a", "b", "a"]})
    labels = encode_labels(frame, DatasetSpec(DSID, "y", "b", ("y",)))
    assert labels.classes == ("a", "b", "c")
    assert labels.positive_index == 1
    assert labels.y.tolist() == [2, 0, 1, 0]


def test_numeric_targets_are_named_without_float_noise():
    assert label_text(pd.Series([1.0, 0.0, np.nan])).tolist() == ["1", "0", None]
    assert label_text(pd.Series([0.5, 1.0])).tolist() == ["0.5", "1.0"]
    assert label_text(pd.Series([True, False])).tolist() == ["True", "False"]
    assert class_counts(pd.DataFrame({"y": [1, 1, 0]}), "y").to_dict() == {"1": 2, "0": 1}


def test_quantile_bins_and_missing_group():
    frame = pd.DataFrame({"age": [10.0, 20.0, 30.0, 40.0, np.nan]})
    groups = sensitive_groups(frame, SensitiveColumn("age", binning="quantile", bins=2))
    # median of 10..40 is 25: two bins, and the NaN row is its own explicit group
    assert groups.tolist() == ["[-∞, 25)", "[-∞, 25)", "[25, ∞)", "[25, ∞)", "missing"]


def test_user_edges_bins_are_left_closed():
    frame = pd.DataFrame({"age": [17, 25, 44, 45, 90]})
    groups = sensitive_groups(frame, SensitiveColumn("age", binning="edges", edges=(25, 45, 65)))
    assert groups.tolist() == ["[-∞, 25)", "[25, 45)", "[25, 45)", "[45, 65)", "[65, ∞)"]


def test_categorical_group_keeps_values_and_names_missing():
    groups = sensitive_groups(pd.DataFrame({"sex": ["F", None, "M"]}), SensitiveColumn("sex"))
    assert groups.tolist() == ["F", "missing", "M"]


def test_binning_text_column_is_a_clear_error():
    with pytest.raises(SpecError, match="not numeric"):
        sensitive_groups(pd.DataFrame({"sex": ["F", "M"]}), SensitiveColumn("sex", binning="quantile"))


@pytest.mark.parametrize("edges", [(), (3, 1), (1, float("inf"))])
def test_bad_edges_are_refused(edges):
    with pytest.raises(SpecError, match="increasing numbers"):
        SensitiveColumn("age", binning="edges", edges=edges)


def test_sensitive_suggestions_match_words_not_substrings():
    columns = ["age", "page_views", "Sex", "marital-status", "native-country", "race", "Gender Identity", "usage"]
    assert suggest_sensitive(columns) == ["age", "Sex", "marital-status", "native-country", "race",
                                          "Gender Identity"]


def test_spec_round_trips_and_id_ignores_name():
    spec = spec_for(table(), sensitive=(SensitiveColumn("age", binning="edges", edges=(30,)),))
    again = DatasetSpec.from_dict(spec.to_dict())
    assert again == spec
    renamed = DatasetSpec.from_dict(spec.to_dict() | {"name": "other"})
    assert renamed.spec_id == spec.spec_id


def test_damaged_spec_dict_is_a_spec_error():
    with pytest.raises(SpecError, match="incomplete or damaged"):
        DatasetSpec.from_dict({"target": "y"})


def test_suggestion_on_synthetic_table():
    frame = synthetic_biased(400, seed=1)
    frame.insert(0, "customer_id", [f"C{i:05d}" for i in range(len(frame))])
    suggestion = suggest_spec(frame, infer_schema(frame), DSID, target="approved")
    assert suggestion.spec.target == "approved"
    assert "customer_id" in suggestion.excluded
    assert "customer_id" not in suggestion.spec.features
    assert set(suggestion.spec.features) == {"income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"}
    # the minority class is suggested as positive
    counts = frame["approved"].value_counts()
    assert suggestion.spec.positive_class == counts.idxmin()


def test_synthetic_table_carries_the_injected_bias():
    frame = synthetic_biased(20000, seed=0)
    rates = (frame["approved"] == "yes").groupby(frame["group"]).mean()
    assert SYNTHETIC_TRUTH.group_penalty["B"] < 0
    assert rates["A"] - rates["B"] > 0.1
    assert frame["group"].value_counts(normalize=True)["B"] == pytest.approx(0.35, abs=0.02)


@pytest.mark.parametrize(("values", "given", "expected"), [
    (["yes", "no"], "yes", "yes"),
    (["Yes", "No"], " yes", "Yes"),
    ([True, False], "true", "True"),
    ([1, 0], "1.0", "1"),
    ([1.0, 0.0], "1", "1"),
])
def test_positive_class_is_resolved_forgivingly(values, given, expected):
    from core.data.spec import resolve_positive_class

    frame = pd.DataFrame({"y": values * 5})
    assert resolve_positive_class(frame, "y", given) == expected


def test_unknown_positive_class_names_the_choices():
    from core.data.spec import resolve_positive_class

    with pytest.raises(SpecError, match=r"pick one of: 'no', 'yes'|pick one of: 'yes', 'no'"):
        resolve_positive_class(pd.DataFrame({"y": ["yes", "no"]}), "y", "maybe")


def test_continuous_target_is_one_short_error():
    frame = pd.DataFrame({"x": range(200), "y": np.linspace(0, 1, 200)})
    spec = DatasetSpec(DSID, "y", "0.5", ("x",))
    with pytest.raises(SpecError) as caught:
        validate_spec(frame, spec)
    message = str(caught.value)
    assert message.startswith("'y' has 200 distinct values; it looks continuous or like an identifier")
    assert len(message) < 300


def test_class_lists_in_errors_are_capped():
    from core.data.spec import resolve_positive_class

    frame = pd.DataFrame({"y": [f"c{i:02d}" for i in range(30)] * 2})
    with pytest.raises(SpecError, match=r"'c09' and 20 more\.$"):
        resolve_positive_class(frame, "y", "nope")


def test_all_distinct_columns_are_not_called_relabelled_targets():
    frame = pd.DataFrame({"a": np.arange(40) * 1.5, "y": np.arange(40) * 2.5})
    from core.data.spec import _same_information, label_text

    assert not _same_information(frame["a"], label_text(frame["y"]))
