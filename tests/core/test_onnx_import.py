"""Uploaded ONNX models: checks that refuse bad files and leave nothing behind, the column-to-input mapping, and every
view on the run (evaluation, fairness, thresholds, explanations, what-if, the loss audit, report and verify)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core.cli import main
from core.data.store import DatasetStore
from core.errors import ConfigError, CustomOperatorError, FairnessError, ModelImportError
from core.explain import counterfactuals, edit_row, explain_run, load_run
from core.explain._explain import background_rows
from core.fairness import import_model, member_mask, run_fairness, start_mitigation
from core.models._onnx_inputs import build_mapping
from core.privacy import audit_run
from core.privacy._mia import audit_ceiling
from core.runs import SUCCEEDED, RunStore
from core.training import artifacts
from tests.conftest import ROOT
from tests.core import _onnx_models as onnx_models

FRAME = onnx_models.table()
CSV = FRAME.to_csv(index=False).encode()
HELD_OUT = FRAME[FRAME["member"] == 0]


@pytest.fixture(scope="module")
def logistic():
    return onnx_models.logistic(FRAME)


@pytest.fixture(scope="module")
def boosting():
    return onnx_models.gradient_boosting(FRAME)


def _import(store: RunStore, data: bytes, **options) -> str:
    options = {"target": "y", "features": onnx_models.FEATURES, "sensitive": ["g"], "members": "member", **options}
    run_id, _ = import_model(store, data, "model.onnx", CSV, "table.csv", **options)
    return run_id


def _nothing_left(home) -> bool:
    runs_dir = home / "runs"
    return (not RunStore(home).list() and not DatasetStore(home).list()
            and (not runs_dir.exists() or not any(runs_dir.iterdir())))


def test_cli_import_of_a_logistic_model_evaluates_the_held_out_rows(riskboard_home, logistic, tmp_path, capsys):
    model, data = logistic
    (tmp_path / "lr.onnx").write_bytes(data)
    (tmp_path / "t.csv").write_bytes(CSV)
    code = main(["import-model", str(tmp_path / "lr.onnx"), "--data", str(tmp_path / "t.csv"), "--target", "y",
                 "--features", "a", "b", "c", "--sensitive", "g", "--members", "member", "--json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 0
    assert body["model_sha256"] == hashlib.sha256(data).hexdigest() and body["fast_path"] == "linear"
    assert body["rows"] == len(FRAME) and body["evaluated_rows"] == len(HELD_OUT)
    assert body["inputs"] == [{"model input": "X", "type": "tensor(float)", "shape": "[N, 3]",
                               "table columns": "a, b, c"}]
    store = RunStore(riskboard_home)
    record = store.get(body["run_id"])
    assert record.kind == "uploaded" and record.status == SUCCEEDED
    arts = store.artifacts(record.id)
    assert arts.manifest()[artifacts.MODEL_ONNX]["sha256"] == hashlib.sha256(data).hexdigest()
    scores = artifacts.load_test_scores(arts)
    assert sorted(scores["row"]) == HELD_OUT.index.tolist()  # evaluated on the rows not in training
    expected = model.predict_proba(HELD_OUT[onnx_models.FEATURES].to_numpy(np.float32))[:, 1]
    assert np.abs(scores.sort_values("row")["score"].to_numpy() - expected).max() < 1e-6
    auc = artifacts.load_evaluation(arts)["metrics"]["roc_auc"]
    assert auc == pytest.approx(roc_auc_score(HELD_OUT["y"], expected), abs=1e-9)


def test_shap_of_the_logistic_onnx_equals_the_closed_form(riskboard_home, logistic):
    model, data = logistic
    store = RunStore(riskboard_home)
    run_id = _import(store, data)
    run = load_run(store, run_id)
    assert run.linear and not run.agnostic  # the exact fast path: the LinearClassifier's weights as torch layers
    w = model.coef_[0]
    for method, size in (("auto", 200), ("agnostic", 100)):  # closed form via torch, and shap's Exact explainer
        result = explain_run(store, run_id, rows=40, background=size, seed=3, method=method, use_cache=False)
        bg = run.train.iloc[background_rows(len(run.train), size, 3, 0)][onnx_models.FEATURES].to_numpy()
        x = run.test.loc[result.rows, onnx_models.FEATURES].to_numpy()
        assert np.abs(result.values - w * (x - bg.mean(axis=0))).max() < 1e-4, method
        assert result.additivity_max_error < 1e-6
    assert result.method == "shap-exact"


def test_torch_mlp_uses_the_deeplift_fast_path_and_counterfactuals_flip(riskboard_home):
    import torch

    net, data = onnx_models.mlp()
    store = RunStore(riskboard_home)
    run_id = _import(store, data)
    run = load_run(store, run_id)
    assert not run.agnostic and not run.linear
    with torch.no_grad():
        expected = net(torch.as_tensor(run.test[onnx_models.FEATURES].to_numpy(copy=True), dtype=torch.float32))[:, 0]
    scored = run.scorer.score(run.test)
    assert np.abs(scored["probability"].to_numpy() - expected.numpy()).max() < 1e-5
    result = explain_run(store, run_id, rows=30, background=50)
    assert result.method == "deeplift-rescale" and result.additivity_max_error < 1e-4
    row = run.test.iloc[[0]]
    for found in counterfactuals(run.scorer, row, run.train, immutable=["c"]):
        edited = edit_row(row, {name: new for name, _, new in found.changes}, run.scorer.preprocessor, run.train)
        assert bool(run.scorer.score(edited)["positive"].iat[0]) == found.positive


def test_gradient_boosting_gets_every_view(riskboard_home, boosting):
    model, data = boosting
    store = RunStore(riskboard_home)
    run_id = _import(store, data)
    scores = artifacts.load_test_scores(store.artifacts(run_id)).sort_values("row")
    expected = model.predict_proba(HELD_OUT[onnx_models.FEATURES].to_numpy(np.float32))[:, 1]
    assert np.abs(scores["score"].to_numpy() - expected).max() < 1e-5
    run = load_run(store, run_id)
    assert run.agnostic
    result = explain_run(store, run_id, rows=20, background=30)
    assert result.method == "shap-exact" and result.additivity_max_error < 1e-6
    row = run.test.iloc[[0]]
    edited = edit_row(row, {"a": 2.5}, run.scorer.preprocessor, run.train)
    expected_edit = model.predict_proba(edited[onnx_models.FEATURES].to_numpy(np.float32))[0, 1]
    assert run.scorer.score(edited)["probability"].iat[0] == pytest.approx(expected_edit, abs=1e-5)
    values, base = run.scorer.explain(edited, run.train.iloc[:30])
    assert values.sum() + base == pytest.approx(run.scorer.score(edited)["logit"].iat[0], abs=1e-6)
    report = run_fairness(store, run_id, ["g"], resamples=50)["g"]
    assert report.rows == len(HELD_OUT)
    child = start_mitigation(store, run_id, method="thresholds", constraint="demographic_parity", sensitive=["g"])
    assert store.get(child).kind == "uploaded" and store.get(child).status == SUCCEEDED
    audit = audit_run(store, run_id, attack="loss")
    assert audit.main.n_members == audit.main.n_nonmembers == len(HELD_OUT)
    assert audit.main.epsilon_ceiling == pytest.approx(audit_ceiling(len(HELD_OUT), len(HELD_OUT)))
    with pytest.raises(ConfigError, match="cannot do for a model trained elsewhere"):
        audit_run(store, run_id, attack="reference")
    with pytest.raises(FairnessError, match="only post-processing"):
        start_mitigation(store, run_id, method="reweight", constraint="demographic_parity", sensitive=["g"])


def test_report_names_the_model_and_verify_catches_a_changed_model_file(riskboard_home, logistic, tmp_path,
                                                                         capsys):
    store = RunStore(riskboard_home)
    run_id = _import(store, logistic[1])
    out = tmp_path / "report.html"
    assert main(["report", run_id, "--out", str(out)]) == 0
    assert hashlib.sha256(logistic[1]).hexdigest() in out.read_text()
    assert "reference-model membership attack needs retraining" in out.read_text()
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    path = store.runs_dir / run_id / artifacts.MODEL_ONNX
    path.write_bytes(path.read_bytes() + b"\0")
    assert main(["verify", str(out)]) != 0
    assert "MISMATCH" in capsys.readouterr().out


def test_audit_without_members_says_what_to_do(riskboard_home, logistic):
    store = RunStore(riskboard_home)
    run_id = _import(store, logistic[1], members=None)
    assert len(artifacts.load_test_scores(store.artifacts(run_id))) == len(FRAME)
    assert "drawn from the evaluated rows" in explain_run(store, run_id, rows=5, background=20).note
    with pytest.raises(ConfigError, match="--members"):
        audit_run(store, run_id, attack="loss")


@pytest.mark.parametrize("case, error, message", [
    ("malformed", ModelImportError, "is not an ONNX model"),
    ("oversized", ModelImportError, "over the 0.001 MB limit"),
    ("wrong width", ModelImportError, r"takes 3 columns \(shape \[N, 3\]\) but 2 features were given"),
    ("text column", ModelImportError, r"column 'g' holds text"),
    ("custom operator", CustomOperatorError, "custom operator 'MyScorer' from domain 'com.example'"),
    ("external data", ModelImportError, "external file"),
])
def test_refused_models_leave_nothing_behind(riskboard_home, logistic, boosting, monkeypatch, case, error, message):
    data, options = logistic[1], {}
    if case == "malformed":
        data = b"\x08\x07garbage that is not a protobuf model" * 3
    elif case == "oversized":
        data = boosting[1]
        assert len(data) > 1100
        monkeypatch.setenv("RISKBOARD_MAX_MODEL_MB", "0.001")
    elif case == "wrong width":
        options = {"features": ["a", "b"]}
    elif case == "text column":
        options = {"features": ["a", "b", "g"]}
    elif case == "custom operator":
        data = onnx_models.custom_operator()
    elif case == "external data":
        data = onnx_models.external_data()
    with pytest.raises(error, match=message):
        _import(RunStore(riskboard_home), data, **options)
    assert _nothing_left(riskboard_home)


def test_cli_refusal_is_one_error_line(riskboard_home, tmp_path, capsys):
    (tmp_path / "m.onnx").write_bytes(onnx_models.custom_operator())
    (tmp_path / "t.csv").write_bytes(CSV)
    code = main(["import-model", str(tmp_path / "m.onnx"), "--data", str(tmp_path / "t.csv"), "--target", "y",
                 "--json"])
    err = capsys.readouterr()
    assert code == 2 and err.out == ""
    assert err.err.startswith("error: The model uses custom operator") and err.err.count("\n") == 1


def test_per_column_inputs_are_matched_by_name_and_text_columns_feed_string_inputs():
    inputs = [("a", "tensor(float)", (None, 1)), ("g", "tensor(string)", (None, 1))]
    mapping = build_mapping(inputs, FRAME, exclude=["y", "member"])
    assert mapping.columns == ("a", "g") and mapping.numeric == ("a",)
    assert sorted(mapping.levels_["g"]) == ["x", "z"]
    feeds = mapping.feeds(FRAME.iloc[:3])
    assert feeds["a"].shape == (3, 1) and feeds["a"].dtype == np.float32 and feeds["g"].dtype == object
    with pytest.raises(ModelImportError, match="inputs 'd' that are not columns"):
        build_mapping([*inputs, ("d", "tensor(float)", (None, 1))], FRAME)
    with pytest.raises(ModelImportError, match="fixed batch size of 1"):
        build_mapping([("x", "tensor(float)", (1, 3))], FRAME, features=["a", "b", "c"])


def test_member_column_values():
    assert member_mask(pd.Series(["train", "test", "Yes", "no"]), "m").tolist() == [True, False, True, False]
    assert member_mask(pd.Series([1, 0, 1]), "m").tolist() == [True, False, True]
    with pytest.raises(ModelImportError, match="found 'maybe'"):
        member_mask(pd.Series(["yes", "maybe"]), "m")
    with pytest.raises(ModelImportError, match="need both"):
        member_mask(pd.Series([1, 1]), "m")


def test_cli_start_does_not_import_onnx():
    code = ("import sys; from core.cli import build_parser; build_parser(); "
            "print('onnx' in sys.modules, 'onnxruntime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


class _Linear:
    """A stand-in for an uploaded model with ten numeric inputs: p = sigmoid(x . w), plus a three-way interaction
    (antithetic permutations split pairwise ones exactly) when ``nonlinear``."""

    def __init__(self, frame: pd.DataFrame, w: np.ndarray, *, nonlinear: bool = False) -> None:
        self.mapping = build_mapping([("X", "tensor(float)", (None, len(w)))], frame)
        self.w, self.nonlinear = w, nonlinear

    def positive_probability(self, frame: pd.DataFrame) -> np.ndarray:
        x = frame[list(self.mapping.columns)].to_numpy(dtype=np.float64)
        z = x @ self.w + (np.tanh(x[:, 0] * x[:, 1] * x[:, 2]) if self.nonlinear else 0.0)
        return 1 / (1 + np.exp(-z))


def test_many_features_use_permutation_with_its_sampling_error_stated():
    from core.explain._agnostic import METHOD_PERMUTATION, explain_agnostic

    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(size=(120, 10)), columns=[f"x{i}" for i in range(10)])
    w = rng.normal(size=10) * 0.3
    linear = explain_agnostic(_Linear(frame, w), frame.iloc[:8], frame.iloc[20:], background=40, seed=1)
    bg = frame.iloc[20:].iloc[background_rows(100, 40, 1, 0)].to_numpy()
    assert linear.method == METHOD_PERMUTATION
    # an additive model has no interactions: every permutation gives the exact value, so the error is zero
    assert np.abs(linear.values - w * (frame.iloc[:8].to_numpy() - bg.mean(axis=0))).max() < 1e-9
    assert _sampling_error(linear.note) < 1e-9
    bent = explain_agnostic(_Linear(frame, w, nonlinear=True), frame.iloc[:8], frame.iloc[20:], background=40)
    assert bent.additivity_max_error < 1e-9  # every permutation is additive
    assert 1e-4 < _sampling_error(bent.note) < 0.1


def _sampling_error(note: str) -> float:
    return float(note.split("sampling error (standard error of the average) ")[1].split(" ")[0])


def test_pipeline_with_a_text_input_is_fed_by_column_name(riskboard_home):
    model, data = onnx_models.pipeline(FRAME)
    store = RunStore(riskboard_home)
    run_id, prepared = import_model(store, data, "pipe.onnx", CSV, "table.csv", target="y", sensitive=["g"],
                                    members="member")
    assert [row["model input"] for row in prepared.mapping_rows()] == ["a", "b", "g"]
    assert prepared.fast_path is None  # a ColumnTransformer is not a plain graph: shap's explainers apply
    scores = artifacts.load_test_scores(store.artifacts(run_id)).sort_values("row")
    expected = model.predict_proba(HELD_OUT[["a", "b", "g"]])[:, 1]
    assert np.abs(scores["score"].to_numpy() - expected).max() < 1e-5
    run = load_run(store, run_id)
    row = run.test.iloc[[0]]
    flipped = "z" if row["g"].iat[0] == "x" else "x"
    edited = edit_row(row, {"g": flipped}, run.scorer.preprocessor, run.train)
    expected_edit = model.predict_proba(edited[["a", "b", "g"]])[0, 1]
    assert run.scorer.score(edited)["probability"].iat[0] == pytest.approx(expected_edit, abs=1e-5)
    with pytest.raises(ConfigError, match="one of the known values"):
        edit_row(row, {"g": "unseen"}, run.scorer.preprocessor, run.train)
    result = explain_run(store, run_id, rows=10, background=20)
    assert result.method == "shap-exact" and result.additivity_max_error < 1e-6
    assert set(result.data["g"]) <= {"x", "z"}
