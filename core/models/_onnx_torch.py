"""The exact fast path for uploaded models that are plain MLPs or linear models: their ONNX weights as torch layers.

A graph that is a chain ``(Gemm | MatMul [+ Add]) -> Relu -> ... -> (Gemm | MatMul [+ Add]) -> Sigmoid | Softmax``
(what ``torch.onnx.export`` writes for ``nn.Sequential(Linear, ReLU, ..., Linear, Sigmoid)``), or a single ONNX-ML
``LinearClassifier`` (scikit-learn's logistic regression through skl2onnx), is rebuilt as an ``nn.Sequential`` of
``nn.Linear`` and ``nn.ReLU`` whose one output is the positive class's log-odds. Explanations then use the same
exact closed form (linear) or batched DeepLIFT (MLP) as models trained here. Anything else returns None, and the
model-agnostic explainer is used. The rebuilt module is checked against onnxruntime on real rows before use
(:func:`matches_runtime`), so a misread graph can never explain a different model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

SKIPPED = ("Identity", "Flatten", "Dropout")
CHECK_ROWS = 256
CHECK_TOLERANCE = 1e-4


def _initializers(proto: Any) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t).astype(np.float64) for t in proto.graph.initializer}


def _attributes(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _chain(proto: Any, output: str, weights: dict[str, np.ndarray]) -> list[Any] | None:
    """Nodes from the graph input to ``output``, each with exactly one non-constant input; None otherwise."""
    producer = {name: node for node in proto.graph.node for name in node.output}
    graph_inputs = {i.name for i in proto.graph.input} - set(weights)
    chain, current = [], output
    while current not in graph_inputs:
        node = producer.get(current)
        if node is None:
            return None
        moving = [name for name in node.input if name and name not in weights]
        if len(moving) != 1:
            return None
        chain.append(node)
        current = moving[0]
    return chain[::-1]


def _linear_classifier(node: Any, column: int) -> list[nn.Module] | None:
    attrs = _attributes(node)
    coefficients = np.asarray(attrs.get("coefficients", []), dtype=np.float64)
    intercepts = np.asarray(attrs.get("intercepts", []), dtype=np.float64)
    post = attrs.get("post_transform", b"NONE")
    post = post.decode() if isinstance(post, bytes) else str(post)
    targets = len(intercepts) or 1
    if post not in ("LOGISTIC", "SOFTMAX") or coefficients.size % targets:
        return None
    w = coefficients.reshape(targets, -1)
    b = intercepts if len(intercepts) else np.zeros(targets)
    if targets == 1:
        sign = 1.0 if column == 1 else -1.0
        return [_linear(sign * w, sign * b)]
    if targets != 2:
        return None
    other = 1 - column
    if post == "SOFTMAX":
        return [_linear(w[[column]] - w[[other]], b[[column]] - b[[other]])]
    return [_linear(w[[column]], b[[column]])]


def _linear(weight: np.ndarray, bias: np.ndarray) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.as_tensor(np.broadcast_to(bias, (weight.shape[0],)).copy(), dtype=torch.float32))
    return layer


def _gemm(node: Any, weights: dict[str, np.ndarray]) -> nn.Linear | None:
    attrs = _attributes(node)
    if attrs.get("transA", 0) or node.input[0] in weights or node.input[1] not in weights:
        return None
    b = weights[node.input[1]]
    weight = float(attrs.get("alpha", 1.0)) * (b if attrs.get("transB", 0) else b.T)
    bias = np.zeros(weight.shape[0])
    if len(node.input) > 2 and node.input[2]:
        if node.input[2] not in weights:
            return None
        bias = float(attrs.get("beta", 1.0)) * np.broadcast_to(weights[node.input[2]].reshape(-1), bias.shape)
    return _linear(weight, bias)


def _layers(chain: list[Any], weights: dict[str, np.ndarray]) -> tuple[list[nn.Module], str] | None:
    """Linear/ReLU layers and the final activation ("sigmoid", "softmax"), or None for any other graph."""
    layers: list[nn.Module] = []
    final = ""
    for position, node in enumerate(chain):
        last = position == len(chain) - 1
        if node.op_type in SKIPPED or (node.op_type == "Cast" and _attributes(node).get("to") in (1, 11)):
            continue
        if node.op_type == "Gemm":
            layer = _gemm(node, weights)
            if layer is None:
                return None
            layers.append(layer)
        elif node.op_type == "MatMul" and node.input[1] in weights and weights[node.input[1]].ndim == 2:
            layers.append(_linear(weights[node.input[1]].T, np.zeros(weights[node.input[1]].shape[1])))
        elif node.op_type == "Add" and layers and isinstance(layers[-1], nn.Linear):
            constant = next((weights[n] for n in node.input if n in weights), None)
            if constant is None or constant.size not in (1, layers[-1].out_features):
                return None
            with torch.no_grad():
                layers[-1].bias.add_(torch.as_tensor(constant.reshape(-1), dtype=torch.float32))
        elif node.op_type == "Relu":
            layers.append(nn.ReLU())
        elif node.op_type in ("Sigmoid", "Softmax") and last:
            final = node.op_type.lower()
        else:
            return None
    if not layers or not isinstance(layers[-1], nn.Linear) or not final:
        return None
    return layers, final


def to_torch(proto: Any, output: Any) -> nn.Sequential | None:
    """The graph as Linear/ReLU layers whose single output is the positive class's logit, or None."""
    if output.layout == "map" or len([i for i in proto.graph.input if i.name not in
                                      {t.name for t in proto.graph.initializer}]) != 1:
        return None
    weights = _initializers(proto)
    chain = _chain(proto, output.name, weights)
    if not chain:
        return None
    if len(chain) == 1 and chain[0].op_type == "LinearClassifier" and chain[0].domain == "ai.onnx.ml":
        layers = _linear_classifier(chain[0], int(output.column) if output.layout == "two" else 1)
        return nn.Sequential(*layers).eval() if layers else None
    found = _layers(chain, weights)
    if found is None:
        return None
    layers, final = found
    last = layers[-1]
    if final == "sigmoid" and last.out_features == 1 and output.layout == "one":
        return nn.Sequential(*layers).eval()
    if final == "softmax" and last.out_features == 2 and output.layout == "two":
        column = int(output.column)
        w, b = last.weight.detach().double().numpy(), last.bias.detach().double().numpy()
        layers[-1] = _linear(w[[column]] - w[[1 - column]], b[[column]] - b[[1 - column]])
        return nn.Sequential(*layers).eval()
    return None


def matches_runtime(module: nn.Module, x: np.ndarray, probability: np.ndarray) -> bool:
    """True when the rebuilt module's sigmoid(logit) equals onnxruntime's probability on these rows."""
    rows = np.isfinite(x).all(axis=1)
    if not rows.any():
        return False
    with torch.no_grad():
        logit = module.double()(torch.as_tensor(x[rows], dtype=torch.float64))[:, 0]
    module.float()
    mine = torch.sigmoid(logit).numpy()
    return bool(np.abs(mine - probability[rows]).max() <= CHECK_TOLERANCE)
