"""Torch modules: architecture, DP-readiness (no batch statistics), rebuild + safetensors round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from core.errors import ConfigError
from core.models.modules import MLP, LogisticRegression, ModelConfig, build_model, n_outputs_for
from core.training.config import TrainConfig


def test_logistic_is_one_linear_layer() -> None:
    model = LogisticRegression(5, 1)
    assert [type(m) for m in model.modules()] == [LogisticRegression, nn.Linear]
    assert model(torch.zeros(3, 5)).shape == (3, 1)


def test_mlp_layers() -> None:
    model = MLP(10, 3, hidden=(8, 4))
    kinds = [type(m) for m in model.net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [m.out_features for m in model.net if isinstance(m, nn.Linear)] == [8, 4, 3]
    full = MLP(10, 1, hidden=(8,), dropout=0.2, layernorm=True)
    assert [type(m) for m in full.net] == [nn.Linear, nn.LayerNorm, nn.ReLU, nn.Dropout, nn.Linear]


def test_no_batch_statistics_anywhere() -> None:
    """BatchNorm mixes rows (breaks per-sample gradients); GroupNorm is what Opacus would swap it for."""
    for model in (MLP(10, 1, layernorm=True, dropout=0.1), LogisticRegression(10, 4)):
        assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm | nn.GroupNorm) for m in model.modules())


def test_per_sample_gradients_work() -> None:
    """DP-SGD will need torch.func per-sample gradients; check they match one-row backward passes."""
    torch.manual_seed(0)
    model = MLP(6, 1, hidden=(5,), layernorm=True)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = torch.randn(4, 6), torch.tensor([0.0, 1.0, 1.0, 0.0])

    def loss(p, xi, yi):
        out = torch.func.functional_call(model, p, (xi.unsqueeze(0),)).reshape(())
        return nn.functional.binary_cross_entropy_with_logits(out, yi)

    grads = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(params, x, y)
    model.zero_grad()
    loss(dict(model.named_parameters()), x[2], y[2]).backward()
    first = model.net[0].weight
    torch.testing.assert_close(grads["net.0.weight"][2], first.grad)


def test_build_model_from_either_config() -> None:
    assert isinstance(build_model(ModelConfig(model="logistic"), 4, 1), LogisticRegression)
    model = build_model(TrainConfig(hidden=(16,), layernorm=True), 4, 3)
    assert isinstance(model, MLP)
    assert model(torch.zeros(2, 4)).shape == (2, 3)


@pytest.mark.parametrize(("config", "message"), [
    (ModelConfig(model="forest"), "model must be one of logistic, mlp"),
    (ModelConfig(hidden=()), "hidden layer sizes"),
    (ModelConfig(hidden=(0,)), "hidden layer sizes"),
    (ModelConfig(dropout=1.0), "dropout"),
])
def test_bad_architectures(config: ModelConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(config, 4, 1)


def test_outputs_per_class_count() -> None:
    assert n_outputs_for(2) == 1 and n_outputs_for(5) == 5
    with pytest.raises(ConfigError, match="at least 2 classes"):
        n_outputs_for(1)
    with pytest.raises(ConfigError, match="at least one input"):
        LogisticRegression(0, 1)


def test_rebuild_and_load_safetensors(tmp_path: Path) -> None:
    """The save/load recipe the run store uses: config JSON + safetensors weights, never a pickle."""
    config = TrainConfig(hidden=(8, 4), layernorm=True)
    torch.manual_seed(1)
    model = build_model(config.model_config(), 7, 3).eval()
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "m.safetensors"))
    rebuilt = build_model(TrainConfig.from_dict(config.to_dict()).model_config(), 7, 3)
    rebuilt.load_state_dict(load_file(str(tmp_path / "m.safetensors")))
    x = torch.randn(5, 7)
    torch.testing.assert_close(rebuilt.eval()(x), model(x), rtol=0, atol=0)
