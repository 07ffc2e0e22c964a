"""Multiclass end to end in core: per-class table and averages equal scikit-learn's, every class's scores stored,
fairness and the report for a chosen class (one-vs-rest), the worst class per disparity, typed errors for a typo."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

from core import jobs
from core.cli import main
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.errors import FairnessError, ReportError
from core.fairness import DecisionRule, audit_groups, run_fairness, start_mitigation, worst_classes
from core.fairness._runs import DECISION_RULE_JSON
from core.report import gather_inputs
from core.runs import SUCCEEDED, RunStore
from core.training import artifacts
from core.training.config import TrainConfig
from core.training.evaluate import evaluate, per_class_frame
from core.training.pipeline import TASK


def test_per_class_table_and_averages_equal_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 200)
    logits = rng.normal(size=(200, 4)) + 2.0 * np.eye(4)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ev = evaluate(y, proba, positive_index=2, class_names=["a", "b", "c", "d"])
    predicted = proba.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=[0, 1, 2, 3])
    assert [r["class"] for r in ev.per_class] == ["a", "b", "c", "d"]
    np.testing.assert_allclose([r["precision"] for r in ev.per_class], precision)
    np.testing.assert_allclose([r["recall"] for r in ev.per_class], recall)
    np.testing.assert_allclose([r["f1"] for r in ev.per_class], f1)
    assert [r["support"] for r in ev.per_class] == support.tolist()
    np.testing.assert_allclose([r["roc_auc"] for r in ev.per_class],
                               [roc_auc_score(y == k, proba[:, k]) for k in range(4)])
    assert ev.averages["macro"]["f1"] == pytest.approx(f1_score(y, predicted, average="macro"))
    assert ev.averages["weighted"]["f1"] == pytest.approx(f1_score(y, predicted, average="weighted"))
    assert ev.averages["macro"]["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"))
    assert ev.averages["weighted"]["roc_auc"] == pytest.approx(
        roc_auc_score(y, proba, multi_class="ovr", average="weighted"))
    assert np.asarray(ev.confusion).shape == (4, 4)
    again = type(ev).from_dict(ev.to_dict())
    assert again.per_class[1]["f1"] == pytest.approx(ev.per_class[1]["f1"]) and again.averages == ev.averages
    frame = per_class_frame(ev)
    assert frame["class"].tolist() == ["a", "b", "c", "d", "macro average", "weighted average"]


def _three_classes(n: int = 450, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)
    group = np.where(rng.random(n) < 0.5, "x", "y")
    return pd.DataFrame({"f1": rng.normal(size=n) + kind, "f2": rng.normal(size=n) - (kind == 2) * 1.5,
                         "group": group, "kind": np.array(["low", "mid", "high"])[kind]})


@pytest.fixture
def multiclass_run(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_FAIRNESS_MIN_GROUP", "5")
    datasets = DatasetStore(riskboard_home)
    meta = datasets.add(_three_classes().to_csv(index=False).encode(), "kinds.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="kind", positive_class="high", features=("f1", "f2", "group"),
                       sensitive=(SensitiveColumn("group"),))
    runs = RunStore(riskboard_home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(),
                             config=TrainConfig(model="logistic").to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED
    return runs, run_id


def test_every_class_is_stored_and_fairness_looks_at_the_chosen_class(multiclass_run):
    runs, run_id = multiclass_run
    arts = runs.artifacts(run_id)
    classes, positive = artifacts.load_labels(arts)
    scores = artifacts.load_test_scores(arts)
    mid = classes.index("mid")
    proba = scores[[f"proba_{k}" for k in range(3)]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(scores["score"], proba[:, positive])
    metrics = runs.get(run_id).metrics
    assert {"macro_f1", "weighted_f1", "macro_roc_auc", "weighted_roc_auc"} <= set(metrics)

    report = run_fairness(runs, run_id, ["group"], resamples=50, class_name="mid")["group"]
    frame = DatasetStore(runs.home).load(runs.get(run_id).dataset_id)
    groups = frame["group"].to_numpy()[scores["row"].to_numpy()]
    expected = audit_groups((scores["y_true"] == mid).astype(int), (scores["predicted"] == mid).astype(int),
                            pd.Series(groups), score=proba[:, mid], resamples=50, slicing="group")
    assert report.disparities["demographic_parity_difference"].value == pytest.approx(
        expected.disparities["demographic_parity_difference"].value)
    assert report.group("x").metrics == pytest.approx(expected.group("x").metrics, nan_ok=True)

    worst = worst_classes(runs, run_id, ["group"], resamples=50)["group"]
    per_class = {name: run_fairness(runs, run_id, ["group"], resamples=50, class_name=name)["group"]
                 for name in classes}
    gaps = {name: r.disparities["demographic_parity_difference"].value for name, r in per_class.items()}
    assert worst["demographic_parity_difference"]["class"] == max(gaps, key=gaps.get)
    with pytest.raises(FairnessError, match="'medium' is not a class of this run; its classes are: 'high', 'low', "
                                            "'mid'"):
        run_fairness(runs, run_id, ["group"], class_name="medium")


def test_the_report_covers_the_chosen_class_and_lists_every_class(multiclass_run):
    runs, run_id = multiclass_run
    inputs = gather_inputs(runs, run_id, class_name="mid", with_data=False)
    assert inputs.run["class"] == "mid" and inputs.evaluation["positive_name"] == "mid"
    scores = artifacts.load_test_scores(runs.artifacts(run_id))
    mid = inputs.evaluation["class_names"].index("mid")
    assert inputs.evaluation["metrics"]["roc_auc"] == pytest.approx(
        roc_auc_score(scores["y_true"] == mid, scores[f"proba_{mid}"]))
    assert len(inputs.evaluation["per_class"]) == 3
    default = gather_inputs(runs, run_id, with_data=False)
    assert default.run["class"] == "high" and default.evaluation["positive_name"] == "high"
    with pytest.raises(ReportError, match="'medium' is not a class of this run"):
        gather_inputs(runs, run_id, class_name="medium", with_data=False)


def test_post_processing_acts_on_the_chosen_class_one_vs_rest(multiclass_run):
    """A hand-set rule for class 'mid': rows it selects are predicted 'mid', the others the likeliest remaining
    class; the model's probabilities are kept, the rule's class is stored and named. Reductions are refused with
    the reason, and nothing is stored."""
    runs, run_id = multiclass_run
    arts = runs.artifacts(run_id)
    classes, _ = artifacts.load_labels(arts)
    mid = classes.index("mid")
    scores = artifacts.load_test_scores(arts)
    proba = scores[[f"proba_{k}" for k in range(3)]].to_numpy()
    groups = DatasetStore(runs.home).load(runs.get(run_id).dataset_id)["group"].to_numpy()[scores["row"].to_numpy()]
    rule = DecisionRule(strategy="manual", thresholds={"x": 0.2, "y": 0.6})
    child = start_mitigation(runs, run_id, method="thresholds", sensitive=["group"], rule=rule, class_name="mid")
    record = runs.get(child)
    assert record.status == SUCCEEDED and record.name.endswith("(class mid vs rest)")
    mitigated = artifacts.load_test_scores(runs.artifacts(child))
    selected = proba[:, mid] >= np.where(groups == "x", 0.2, 0.6)
    others = proba.copy()
    others[:, mid] = -1.0
    expected = np.where(selected, mid, others.argmax(axis=1))
    np.testing.assert_array_equal(mitigated["predicted"].to_numpy(), expected)
    assert not np.array_equal(expected, proba.argmax(axis=1))
    np.testing.assert_allclose(mitigated[[f"proba_{k}" for k in range(3)]].to_numpy(), proba)
    assert runs.artifacts(child).read_json(DECISION_RULE_JSON)["class"] == "mid"
    evaluation = artifacts.load_evaluation(runs.artifacts(child))
    assert evaluation["metrics"]["accuracy"] == pytest.approx(np.mean(expected == scores["y_true"].to_numpy()))
    assert "for class mid against the rest" in evaluation["notes"][-1]
    before = {r.id for r in runs.list()}
    with pytest.raises(FairnessError, match=r"ExponentiatedGradient\) fit binary classifiers, and run .* has 3 "
                                            "classes"):
        start_mitigation(runs, run_id, method="reductions", sensitive=["group"])
    with pytest.raises(FairnessError, match="'medium' is not a class of this run"):
        start_mitigation(runs, run_id, method="thresholds", sensitive=["group"], rule=rule, class_name="medium")
    assert {r.id for r in runs.list()} == before


def test_cli_mitigate_fits_the_rule_for_the_chosen_class(multiclass_run, capsys):
    runs, run_id = multiclass_run
    assert main(["mitigate", run_id, "--method", "thresholds", "--constraint", "demographic_parity",
                 "--sensitive", "group", "--class", "low", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["class"] == "low" and payload["parent_id"] == run_id
    stored = runs.artifacts(payload["run_id"]).read_json(DECISION_RULE_JSON)
    assert stored["class"] == "low" and "validation rows" in stored["fitted_on"]
    expected = run_fairness(runs, payload["run_id"], ["group"], class_name="low")["group"]
    assert payload["disparity"]["after"]["value"] == pytest.approx(
        expected.disparities["demographic_parity_difference"].value)
    assert main(["mitigate", run_id, "--method", "reductions", "--constraint", "demographic_parity",
                 "--sensitive", "group"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "3 classes" in err[0]
