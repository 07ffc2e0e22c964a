"""core.explain against shap's own explainers, closed forms and a table whose true effects are known."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import shap
import torch

from core.data.demo import SYNTHETIC_TRUTH, synthetic_biased
from core.errors import ConfigError
from core.explain import (
    LAYERNORM_NOTE,
    METHOD_DEEPLIFT,
    METHOD_LINEAR,
    Attributions,
    attribute,
    background_rows,
    explain_rows,
    group_values,
    rank_intervals,
)
from core.explain._deeplift import UNSUPPORTED_LAYER, layer_plan
from core.explain._explain import BAD_BACKGROUND, NO_ROWS
from core.models.modules import MLP, LogisticRegression
from core.models.preprocess import TabularPreprocessor
from core.training.config import TrainConfig
from core.training.loop import fit

NUMERIC = ["income_k", "debt_ratio", "tenure_years", "noise"]
CATEGORICAL = ["segment", "group"]


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _random_mlp(n_inputs: int, *, layernorm: bool = False, seed: int = 0, n_outputs: int = 1) -> MLP:
    torch.manual_seed(seed)
    model = MLP(n_inputs, n_outputs, hidden=(16, 8), dropout=0.2, layernorm=layernorm).eval()
    with torch.no_grad():  # bigger biases than the default init, so ReLUs switch on and off across rows
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.bias.uniform_(-0.5, 0.5)
    return model


def test_mlp_matches_shap_deep_explainer_and_adds_up():
    rng = np.random.default_rng(0)
    x, bg = rng.standard_normal((40, 10)), rng.standard_normal((25, 10))
    model = _random_mlp(10)
    ours = attribute(model, x, bg)
    reference = shap.DeepExplainer(copy.deepcopy(model), torch.tensor(bg, dtype=torch.float32))
    theirs = np.asarray(reference.shap_values(torch.tensor(x, dtype=torch.float32), check_additivity=False))
    np.testing.assert_allclose(ours.values, theirs.reshape(ours.values.shape), atol=1e-5)
    assert ours.method == METHOD_DEEPLIFT
    with torch.no_grad():
        f_x = model(torch.tensor(x, dtype=torch.float32))[:, 0].double().numpy()
        f_bg = model(torch.tensor(bg, dtype=torch.float32))[:, 0].double().numpy()
    np.testing.assert_allclose(ours.scores, f_x, atol=1e-5)
    assert ours.base_value == pytest.approx(f_bg.mean(), abs=1e-5)
    assert np.abs(ours.values.sum(axis=1) + f_bg.mean() - f_x).max() < 1e-4
    assert ours.additivity_max_error < 1e-4


def test_chunking_does_not_change_the_values():
    rng = np.random.default_rng(1)
    x, bg = rng.standard_normal((33, 6)), rng.standard_normal((7, 6))
    model = _random_mlp(6, seed=3)
    whole = attribute(model, x, bg)
    tiny = attribute(model, x, bg, max_elements=1)  # one row per chunk
    np.testing.assert_allclose(whole.values, tiny.values, atol=1e-6)


@pytest.mark.parametrize("layernorm", [False, True])
def test_chunks_on_several_threads_give_the_same_values_and_progress_in_order(layernorm):
    """Row chunks attributed on 3 threads at once: bit-for-bit the serial result, progress reported in row order
    on the calling thread, and the caller's gradient mode and torch threads untouched."""
    import threading

    rng = np.random.default_rng(4)
    x, bg = rng.standard_normal((57, 6)), rng.standard_normal((9, 6))
    model = _random_mlp(6, seed=5, layernorm=layernorm)
    serial = attribute(model, x, bg, max_elements=9 * 16 * 4)  # 4 rows per chunk
    seen = []
    caller = threading.get_ident()
    parallel = attribute(model, x, bg, max_elements=9 * 16 * 4, workers=3,
                         on_rows=lambda done: seen.append((done, threading.get_ident())))
    np.testing.assert_array_equal(parallel.values, serial.values)
    np.testing.assert_array_equal(parallel.scores, serial.scores)
    assert [done for done, _ in seen] == [*range(4, 57, 4), 57]
    assert {thread for _, thread in seen} == {caller}
    assert torch.is_grad_enabled()


def test_cpu_workers_set_torch_to_one_thread_and_restore_it():
    from core.explain._explain import cpu_workers_for

    before = torch.get_num_threads()
    with cpu_workers_for(torch.device("cpu")) as workers:
        assert workers >= 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with cpu_workers_for(torch.device("meta")) as workers:
        assert workers == 1 and torch.get_num_threads() == before


def test_layernorm_uses_the_elementwise_rescale_and_reports_its_additivity():
    rng = np.random.default_rng(2)
    x, bg = rng.standard_normal((30, 8)), rng.standard_normal((20, 8))
    model = _random_mlp(8, layernorm=True, seed=1)
    ours = attribute(model, x, bg)
    with torch.no_grad():
        f_x = model(torch.tensor(x, dtype=torch.float32))[:, 0].double().numpy()
    np.testing.assert_allclose(ours.scores, f_x, atol=1e-5)  # our forward is nn.LayerNorm's formula
    assert ours.note == LAYERNORM_NOTE
    assert ours.additivity_max_error < 1e-4


def test_explaining_never_changes_the_model():
    model = _random_mlp(5, layernorm=True).train()  # even a model left in training mode
    before = _state(model)
    rng = np.random.default_rng(3)
    attribute(model, rng.standard_normal((12, 5)), rng.standard_normal((6, 5)))
    assert model.training
    after = _state(model)
    assert before.keys() == after.keys()
    for name in before:
        assert torch.equal(before[name], after[name]), name


def test_logistic_closed_form_matches_shap_linear_explainer():
    rng = np.random.default_rng(4)
    x, bg = rng.standard_normal((50, 7)), rng.standard_normal((40, 7))
    torch.manual_seed(0)
    model = LogisticRegression(7, 1)
    ours = attribute(model, x, bg)
    assert ours.method == METHOD_LINEAR
    w = model.linear.weight.detach().double().numpy()[0]
    b = float(model.linear.bias.detach().double())
    np.testing.assert_allclose(ours.values, w * (x - bg.mean(axis=0)), atol=1e-12)
    explainer = shap.LinearExplainer((w, b), shap.maskers.Independent(bg, max_samples=len(bg)))
    np.testing.assert_allclose(ours.values, explainer.shap_values(x), atol=1e-6)
    assert ours.additivity_max_error < 1e-9


def test_output_choice_for_negative_positive_class_and_multiclass():
    rng = np.random.default_rng(5)
    x, bg = rng.standard_normal((10, 4)), rng.standard_normal((9, 4))
    binary = _random_mlp(4)
    plus, minus = attribute(binary, x, bg), attribute(binary, x, bg, sign=-1.0)
    np.testing.assert_allclose(minus.values, -plus.values, atol=1e-6)
    three = _random_mlp(4, n_outputs=3)
    second = attribute(three, x, bg, output_index=2)
    with torch.no_grad():
        logits = three(torch.tensor(x, dtype=torch.float32))[:, 2].double().numpy()
    np.testing.assert_allclose(second.scores, logits, atol=1e-5)
    with pytest.raises(ConfigError, match="output index 3 is outside"):
        attribute(three, x, bg, output_index=3)


def test_unsupported_layers_are_refused_in_plain_words():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    with pytest.raises(ConfigError, match=UNSUPPORTED_LAYER.format(name="Tanh")[:40]):
        layer_plan(model)


def test_grouping_sums_one_hot_levels_back_to_their_column():
    frame = pd.DataFrame({"age": [20.0, 30.0, np.nan, 50.0] * 5, "colour": ["red", "blue", "red", None] * 5})
    pre = TabularPreprocessor(numeric=["age"], categorical=["colour"], min_count=1).fit(frame)
    groups = pre.groups()
    assert list(groups) == ["age", "colour"]
    assert [pre.encoded_names_[i] for i in groups["age"]] == ["age", "age (missing)"]
    encoded = np.arange(2 * pre.n_outputs, dtype=np.float64).reshape(2, -1)
    grouped, names = group_values(encoded, groups)
    assert names == ("age", "colour")
    np.testing.assert_allclose(grouped[:, 0], encoded[:, 0] + encoded[:, 1])
    np.testing.assert_allclose(grouped[:, 1], encoded[:, 2:].sum(axis=1))


def test_rank_intervals_cover_every_draw():
    intervals = rank_intervals([np.array([3.0, 2.0, 1.0]), np.array([2.0, 3.0, 1.0]), np.array([3.0, 1.0, 2.0])],
                               ["a", "b", "c"])
    assert intervals == {"a": (1, 2), "b": (1, 3), "c": (2, 3)}


def test_background_draws_are_seeded_and_distinct():
    first = background_rows(1000, 50, seed=7, draw=0)
    assert np.array_equal(first, background_rows(1000, 50, seed=7, draw=0))
    assert not np.array_equal(first, background_rows(1000, 50, seed=7, draw=1))
    assert len(set(first.tolist())) == 50
    assert len(background_rows(10, 50, seed=0)) == 10


def _synthetic_model(kind: str):
    frame = synthetic_biased(3000, seed=1)
    pre = TabularPreprocessor(numeric=NUMERIC, categorical=CATEGORICAL).fit(frame.iloc[:2400])
    y = (frame["approved"] == "yes").to_numpy().astype(np.int64)
    x = pre.transform(frame)
    torch.manual_seed(0)
    config = TrainConfig(model=kind, hidden=(16,), epochs=8, batch_size=256, learning_rate=2e-2,
                         early_stopping_patience=0)
    result = fit(x[:2400], y[:2400], x[2400:], y[2400:], n_classes=2, config=config, device=torch.device("cpu"))
    return frame, pre, result.model.eval()


@pytest.fixture(scope="module", params=["logistic", "mlp"])
def synthetic(request):
    return _synthetic_model(request.param)


def test_known_effects_come_out_in_sign_and_order(synthetic):
    frame, pre, model = synthetic
    result = explain_rows(model, pre, frame.iloc[2400:2900], frame.iloc[:2400], background=100, seed=0)
    assert isinstance(result, Attributions)
    order = result.importance()["feature"].tolist()
    # true |coefficient| (inputs all have unit variance): income 1.5 > debt 1.0 > group 1.0 * 0.48 > tenure 0.5
    assert order.index("income_k") < order.index("debt_ratio") < order.index("tenure_years")
    assert order.index("noise") > order.index("tenure_years")
    data, values = result.data, result.values
    names = list(result.feature_names)
    for feature, coefficient in SYNTHETIC_TRUTH.coefficients.items():
        if coefficient == 0:
            continue
        correlation = np.corrcoef(data[feature].to_numpy(dtype=float), values[:, names.index(feature)])[0, 1]
        assert np.sign(correlation) == np.sign(coefficient) and abs(correlation) > 0.8, feature
    group_b = values[(data["group"] == "B").to_numpy(), names.index("group")]
    assert group_b.mean() < 0  # the injected penalty for group B
    assert result.additivity_max_error < 1e-4
    np.testing.assert_allclose(result.base_value + values.sum(axis=1), result.scores, atol=1e-4)
    np.testing.assert_allclose(result.probabilities, 1 / (1 + np.exp(-result.scores)), atol=1e-5)
    assert result.total_rows == 500 and result.background == 100 and result.draws == 3
    low, high = result.rank_intervals["income_k"]
    assert low == 1 and 1 <= high <= 2


def test_result_to_shap_and_round_trip(synthetic):
    frame, pre, model = synthetic
    result = explain_rows(model, pre, frame.iloc[2400:2460], frame.iloc[:2400], background=30, seed=3, draws=2,
                          row_ids=np.arange(2400, 2460), total_rows=600)
    explanation = result.to_shap()
    assert isinstance(explanation, shap.Explanation)
    np.testing.assert_array_equal(explanation.values, result.values)
    assert list(explanation.feature_names) == NUMERIC + CATEGORICAL
    one = result.row(5)
    assert list(one.columns) == ["feature", "value", "shap"] and len(one) == len(NUMERIC + CATEGORICAL)
    assert one["shap"].abs().is_monotonic_decreasing and one["shap"].sum() == pytest.approx(result.values[5].sum())
    numbers, data = result.tables()
    back = Attributions.from_parts(result.meta(), numbers, data)
    np.testing.assert_array_equal(back.values, result.values)
    assert back.data.equals(result.data)
    assert back.rank_intervals == result.rank_intervals and back.total_rows == 600
    assert back.rows.tolist() == list(range(2400, 2460))
    with pytest.raises(ValueError, match="malformed"):
        Attributions.from_parts({"format": "x"}, numbers, data)


def test_bad_sizes_are_refused(synthetic):
    frame, pre, model = synthetic
    with pytest.raises(ConfigError, match=BAD_BACKGROUND.split("{")[0]):
        explain_rows(model, pre, frame.iloc[:5], frame, background=0)
    with pytest.raises(ConfigError, match=NO_ROWS):
        explain_rows(model, pre, frame.iloc[:0], frame)


def test_units_whose_input_does_not_move_follow_shaps_gradient_rule():
    # unit 0 sees x1 - x2, which is the same for every row: its difference is (nearly) 0 for every pair, yet the
    # per-feature pushes through it are large and cancel; shap then uses the gradient, and so must we
    rng = np.random.default_rng(6)
    x, bg = rng.standard_normal((30, 4)), rng.standard_normal((12, 4))
    x[:, 2], bg[:, 2] = x[:, 1] - 0.3, bg[:, 1] - 0.3
    model = _random_mlp(4, seed=2)
    with torch.no_grad():
        first = model.net[0]
        first.weight[0] = torch.tensor([0.0, 2.0, -2.0, 0.0])
        first.bias[0] = 0.1  # active: the gradient is 1, the 0/0 ratio would say nothing
    ours = attribute(model, x, bg)
    reference = shap.DeepExplainer(copy.deepcopy(model), torch.tensor(bg, dtype=torch.float32))
    theirs = np.asarray(reference.shap_values(torch.tensor(x, dtype=torch.float32), check_additivity=False))
    np.testing.assert_allclose(ours.values, theirs.reshape(ours.values.shape), atol=1e-5)
    assert ours.additivity_max_error < 1e-4


@pytest.mark.parametrize("kind", ["mlp", "logistic"])
def test_weighted_background_equals_the_repeated_rows(kind):
    rng = np.random.default_rng(8)
    x, centres = rng.standard_normal((15, 5)), rng.standard_normal((4, 5))
    counts = np.array([1, 3, 2, 6])
    torch.manual_seed(1)
    model = _random_mlp(5, seed=4) if kind == "mlp" else LogisticRegression(5, 1)
    weighted = attribute(model, x, centres, weights=counts)
    repeated = attribute(model, x, np.repeat(centres, counts, axis=0))
    np.testing.assert_allclose(weighted.values, repeated.values, atol=1e-6)
    assert weighted.base_value == pytest.approx(repeated.base_value, abs=1e-6)
    assert weighted.additivity_max_error < 1e-4


def test_kmeans_summary_explains_with_weighted_centres(synthetic):
    frame, pre, model = synthetic
    result = explain_rows(model, pre, frame.iloc[2400:2600], frame.iloc[:2400], background=20, seed=0, draws=2,
                          summary="kmeans")
    assert result.summary == "kmeans" and result.background == 20
    assert result.additivity_max_error < 1e-4
    order = result.importance()["feature"].tolist()
    assert order.index("income_k") < order.index("tenure_years") < order.index("noise")
    with pytest.raises(ConfigError, match="background summary must be one of"):
        explain_rows(model, pre, frame.iloc[:5], frame, summary="median")
