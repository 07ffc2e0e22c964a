"""ONNX files built inside the tests: scikit-learn models through skl2onnx, a torch MLP through torch.onnx.export,
and hand-written graphs for the files an import must refuse (custom operator, external data)."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

FEATURES = ["a", "b", "c"]


def table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Three numeric features, a binary label, a group column and a members column (first half = training rows)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + x[:, 1] + rng.normal(size=n) > 0).astype(int)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y,
                         "g": np.where(rng.random(n) < 0.5, "x", "z"), "member": (np.arange(n) < n // 2).astype(int)})


def _xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    members = frame["member"].to_numpy() == 1
    return frame.loc[members, FEATURES].to_numpy(np.float32), frame.loc[members, "y"].to_numpy()


def logistic(frame: pd.DataFrame):
    """(fitted scikit-learn LogisticRegression, its ONNX bytes) trained on the member rows."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = _xy(frame)
    model = LogisticRegression().fit(x, y)
    return model, to_onnx(model, x[:1], options={"zipmap": False}).SerializeToString()


@contextlib.contextmanager
def _bool_attributes_as_ints() -> Iterator[None]:
    """skl2onnx 1.20 passes Python bools in integer-list attributes of TreeEnsembleClassifier, which onnx 1.23 with
    protobuf 7 refuses ("Expected an int, got a boolean"); cast them to 0/1 while converting (the same values)."""
    import skl2onnx.common._container as container

    original = container.make_node

    def make_node(op_type, inputs, outputs, name=None, **attrs):
        fixed = {k: [int(v) if isinstance(v, bool | np.bool_) else v for v in value]
                 if isinstance(value, list | tuple) else value for k, value in attrs.items()}
        return original(op_type, inputs, outputs, name=name, **fixed)

    container.make_node = make_node
    try:
        yield
    finally:
        container.make_node = original


def gradient_boosting(frame: pd.DataFrame):
    """(fitted HistGradientBoostingClassifier, its ONNX bytes)."""
    from skl2onnx import to_onnx
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y = _xy(frame)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(x, y)
    with _bool_attributes_as_ints():
        data = to_onnx(model, x[:1], options={"zipmap": False}).SerializeToString()
    return model, data


def mlp(seed: int = 0):
    """(torch MLP with a Sigmoid head, its ONNX bytes from the legacy TorchScript exporter)."""
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4), torch.nn.ReLU(),
                              torch.nn.Linear(4, 1), torch.nn.Sigmoid()).eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.zeros(1, 3), buffer, dynamo=False, input_names=["x"], output_names=["p"],
                          dynamic_axes={"x": {0: "n"}, "p": {0: "n"}})
    return net, buffer.getvalue()


def _graph(node, initializers=()):
    from onnx import TensorProto, helper

    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])],
                              initializer=list(initializers))
    return graph


def custom_operator() -> bytes:
    """A graph whose one node is ``com.example.MyScorer``: a custom operator."""
    from onnx import helper

    node = helper.make_node("MyScorer", ["X"], ["Y"], domain="com.example")
    model = helper.make_model(_graph(node), opset_imports=[helper.make_opsetid("", 17),
                                                           helper.make_opsetid("com.example", 1)])
    return model.SerializeToString()


def external_data() -> bytes:
    """A MatMul whose weight tensor points at a file next to the model (``weights.bin``)."""
    from onnx import TensorProto, helper

    weight = helper.make_tensor("W", TensorProto.FLOAT, [3, 1], [0.0, 0.0, 0.0])
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../etc/weights.bin"
    model = helper.make_model(_graph(helper.make_node("MatMul", ["X", "W"], ["Y"]), [weight]),
                              opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def pipeline(frame: pd.DataFrame):
    """(fitted pipeline, ONNX bytes) of scaling + one-hot encoding + logistic regression with one input per column:
    two numbers (a, b) and the text column g."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    members = frame["member"] == 1
    x = frame.loc[members, ["a", "b", "g"]]
    model = Pipeline([("columns", ColumnTransformer([("num", StandardScaler(), ["a", "b"]),
                                                     ("cat", OneHotEncoder(handle_unknown="ignore"), ["g"])])),
                      ("lr", LogisticRegression())]).fit(x, frame.loc[members, "y"])
    types = [("a", FloatTensorType([None, 1])), ("b", FloatTensorType([None, 1])), ("g", StringTensorType([None, 1]))]
    data = to_onnx(model, initial_types=types, options={id(model.steps[-1][1]): {"zipmap": False}})
    return model, data.SerializeToString()
