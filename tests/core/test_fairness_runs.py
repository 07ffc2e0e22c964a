"""Fairness of stored runs: cached results, imported runs, and mitigations stored as linked runs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch

from core import jobs, jsonsafe
from core.cli.runs import files_state
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.errors import FairnessError, MitigationNoEffectError, RiskboardError, ScoreImportError
from core.fairness import (
    DECISION_RULE_JSON,
    REWEIGHTING_JSON,
    DecisionRule,
    audit_groups,
    check_scores,
    fit_reductions,
    import_scores,
    kamiran_calders_weights,
    load_run_scores,
    mixture_scores,
    run_fairness,
    start_mitigation,
)
from core.fairness._imports import LABEL_CLASSES, MISMATCHED, OUT_OF_RANGE, TEXT_SCORES
from core.fairness._mitigation import NEEDS_MODEL
from core.runs import SUCCEEDED, RunStore
from core.runs.naming import display_name
from core.training import artifacts
from core.training.config import TrainConfig
from core.training.pipeline import TASK

LOANS = {"target": "approved", "positive_class": "yes",
         "features": ("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"),
         "sensitive": (SensitiveColumn("group"),)}
FAST = {"model": "logistic", "epochs": 4, "batch_size": 128, "learning_rate": 0.05}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: tiny models, and on a shared 2-core machine spinning threads make timings a lottery."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[RunStore, str]:
    """One trained parent for the module (its own workspace; every call below names the store explicitly)."""
    home = tmp_path_factory.mktemp("fairness-runs")
    datasets = DatasetStore(home)
    frame = synthetic_biased(1200, seed=3)
    frame.loc[frame.index[:40], "group"] = None  # some rows without a group
    meta = datasets.add(frame.to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, **LOANS)
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(),
                             config=TrainConfig(**FAST).to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED, runs.get(run_id).error
    return runs, run_id


def test_run_fairness_uses_test_rows_and_caches_its_result(trained):
    runs, run_id = trained
    report = run_fairness(runs, run_id, ["group"], resamples=100)["group"]
    scores = artifacts.load_test_scores(runs.artifacts(run_id))
    frame = DatasetStore(runs.home).load(runs.get(run_id).dataset_id)
    groups = frame["group"].iloc[scores["row"]].fillna("missing").to_numpy()
    expected = audit_groups((scores["y_true"] == 1).astype(int), (scores["predicted"] == 1).astype(int), groups,
                            score=scores["score"], resamples=100, slicing="group")
    assert [g.group for g in report.groups] == ["A", "B", "missing"]
    assert jsonsafe.dumps(report.to_dict()) == jsonsafe.dumps(expected.to_dict())
    assert report.disparities["demographic_parity_difference"].value == pytest.approx(
        expected.disparities["demographic_parity_difference"].value)
    arts = runs.artifacts(run_id)
    cached = [name for name in arts.manifest() if name.startswith("fairness-")]
    assert len(cached) == 1
    (arts.folder / cached[0]).write_text("{broken")  # a damaged cache is recomputed, not shown
    again = run_fairness(runs, run_id, ["group"], resamples=100)["group"]
    assert again.rows == report.rows and arts.has(cached[0])


def test_threshold_mitigation_is_a_linked_run_with_its_rule(trained):
    runs, run_id = trained
    child = start_mitigation(runs, run_id, method="thresholds", constraint="demographic_parity",
                             sensitive=["group"])
    record = runs.get(child)
    assert record.status == SUCCEEDED and record.parent_id == run_id and record.kind == "train"
    assert child in [r.id for r in runs.children(run_id)]
    arts = runs.artifacts(child)
    rule = arts.read_json(DECISION_RULE_JSON)
    assert set(rule["thresholds"]) >= {"A", "B"} and "validation rows" in rule["fitted_on"]
    assert artifacts.load_model(arts) is not None  # the parent's model travels with the rule
    before = run_fairness(runs, run_id, ["group"], resamples=100)["group"]
    after = run_fairness(runs, child, ["group"], resamples=100)["group"]
    gap = "demographic_parity_difference"
    assert after.disparities[gap].value < before.disparities[gap].value
    evaluation = artifacts.load_evaluation(arts)
    scores = load_run_scores(runs, child)
    assert evaluation["metrics"]["accuracy"] == pytest.approx(np.mean(scores.y_pred == scores.y_true))


def test_reweighting_retrains_with_the_kamiran_calders_weights(trained):
    runs, run_id = trained
    child = start_mitigation(runs, run_id, method="reweight", constraint="demographic_parity", sensitive=["group"])
    record = runs.get(child)
    assert record.status == SUCCEEDED, record.error
    assert record.parent_id == run_id
    table = runs.artifacts(child).read_json(REWEIGHTING_JSON)["weights"]
    split = artifacts.load_split(runs.artifacts(child))
    frame = DatasetStore(runs.home).load(record.dataset_id)
    g = frame["group"].iloc[split.train].fillna("missing").to_numpy()
    y = (frame["approved"].iloc[split.train] == "yes").astype(int).to_numpy()
    n = len(y)
    for group in ("A", "B", "missing"):
        for label in (0, 1):
            n_gy = np.sum((g == group) & (y == label))
            expected = np.sum(g == group) * np.sum(y == label) / (n * n_gy)
            assert table[f"{group} | class {label}"] == pytest.approx(expected)


def test_kamiran_calders_formula_on_a_hand_table():
    groups = np.array(["a", "a", "a", "b"])
    y = np.array([1, 1, 0, 0])
    # P(a)=3/4, P(b)=1/4, P(y=1)=1/2; P(a,1)=1/2, P(a,0)=1/4, P(b,0)=1/4
    assert kamiran_calders_weights(groups, y).tolist() == pytest.approx([0.75, 0.75, 1.5, 0.5])


def test_reductions_lower_demographic_parity_on_the_synthetic_table():
    frame = synthetic_biased(1200, seed=1)
    X = np.column_stack([frame[c] for c in ("income_k", "debt_ratio", "tenure_years")] +
                        [(frame["group"] == "B").astype(float)]).astype(np.float32)
    y = (frame["approved"] == "yes").astype(int).to_numpy()
    groups = frame["group"].to_numpy()
    config = TrainConfig(model="logistic", epochs=4, batch_size=128, learning_rate=0.05)
    seen = []
    reduction = fit_reductions(X, y, groups, constraint="demographic_parity", config=config, max_iter=8,
                               on_fit=seen.append)
    plain = fit_reductions(X, y, groups, constraint="demographic_parity", config=config, max_iter=1)

    def gap(p):
        return abs(p[groups == "A"].mean() - p[groups == "B"].mean())

    base = plain.predictors_.iloc[0].predict_proba(X)[:, 1] >= 0.5
    fair = mixture_scores(reduction, X)
    assert gap(base.astype(float)) > 0.15  # the table's injected bias
    assert gap(fair) < gap(base.astype(float)) / 2
    assert len(seen) >= 2  # progress: one call per fitted model


def test_reductions_run_is_a_linked_background_style_job(trained):
    runs, run_id = trained
    child = start_mitigation(runs, run_id, method="reductions", constraint="demographic_parity",
                             sensitive=["group"], options={"max_iter": 4})
    record = runs.get(child)
    assert record.status == SUCCEEDED, record.error
    assert record.parent_id == run_id and record.metrics["models_fitted"] >= 2
    assert len(runs.epochs(child)) == record.metrics["models_fitted"]
    assert run_fairness(runs, child, ["group"], resamples=50)["group"].rows == record.metrics["test_rows"]
    assert files_state(runs, record)["state"] == "ok"  # a mixture has member files, not one model.safetensors
    # views that need one model say why they cannot work on a mixture, naming the parent to use instead
    from core.explain import explain_run
    from core.privacy import audit_run

    for view, what in ((lambda: explain_run(runs, child, rows=50, background=20), "explain"),
                       (lambda: audit_run(runs, child, attack="loss"), "audit")):
        with pytest.raises(RiskboardError, match=f"mixture of several models .* no single model to {what}; "
                                                 f"{what} its parent run {run_id}"):
            view()


def _scored_csv(rows=400, seed=0, **columns) -> bytes:
    rng = np.random.default_rng(seed)
    grp = rng.choice(["p", "q"], rows)
    label = (rng.random(rows) < np.where(grp == "p", 0.5, 0.3)).astype(int)
    score = np.round(np.clip(0.35 * label + 0.65 * rng.random(rows), 0, 1), 4)
    frame = pd.DataFrame({"label": label, "score": score, "grp": grp, "x": rng.normal(size=rows)})
    for name, values in columns.items():
        frame[name] = values
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def test_import_makes_a_run_every_view_can_read(riskboard_home):
    runs = RunStore(riskboard_home)
    run_id, rows = import_scores(runs, _scored_csv(), "scored.csv", label="label", score="score", positive="1",
                                 sensitive=["grp"])
    record = runs.get(run_id)
    assert (record.kind, record.status, rows) == ("import", SUCCEEDED, 400)
    arts = runs.artifacts(run_id)
    evaluation = artifacts.load_evaluation(arts)
    assert evaluation["metrics"]["roc_auc"] > 0.6 and evaluation["n_rows"] == 400
    assert artifacts.load_labels(arts) == (("0", "1"), 1)
    report = run_fairness(runs, run_id, ["grp"], resamples=50)["grp"]
    assert sum(g.count for g in report.groups) == 400 and report.has_scores
    child = start_mitigation(runs, run_id, method="thresholds", constraint="equal_opportunity", sensitive=["grp"])
    assert runs.get(child).kind == "import" and runs.get(child).parent_id == run_id
    assert "optimistic" in runs.artifacts(child).read_json(DECISION_RULE_JSON)["fitted_on"]
    with pytest.raises(FairnessError, match=NEEDS_MODEL.split("{")[0][:10]):
        start_mitigation(runs, run_id, method="reweight", sensitive=["grp"])


def test_import_of_decisions_only_disables_score_views(riskboard_home):
    runs = RunStore(riskboard_home)
    decisions = (np.random.default_rng(1).random(400) < 0.4).astype(int)
    run_id, _ = import_scores(runs, _scored_csv(decision=decisions), "d.csv", label="label", decision="decision",
                              sensitive=["grp"])
    evaluation = artifacts.load_evaluation(runs.artifacts(run_id))
    assert evaluation["roc"]["fpr"] == [] and evaluation["metrics"]["roc_auc"] is None
    assert any("no scores" in note for note in evaluation["notes"])
    report = run_fairness(runs, run_id, ["grp"], resamples=50)["grp"]
    assert not report.has_scores
    assert report.groups[0].metrics["selection_rate"] == pytest.approx(
        decisions[np.asarray(pd.read_csv(io.BytesIO(_scored_csv()))["grp"] == "p")].mean())
    with pytest.raises(FairnessError, match="no scores"):
        start_mitigation(runs, run_id, method="thresholds", sensitive=["grp"])


@pytest.mark.parametrize(("kwargs", "extra", "message"), [
    ({"score": "score"}, {"score": np.linspace(-0.5, 1.5, 400)}, OUT_OF_RANGE.split("{")[0]),
    ({"score": "grp"}, {}, TEXT_SCORES.split("{")[0]),
    ({"score": "score"}, {"label": np.arange(400) % 3}, "needs exactly two"),
    ({"score": "score"}, {"score": [0.5] * 380 + [None] * 20}, "has 380"),
])
def test_import_errors_are_clear(riskboard_home, kwargs, extra, message):
    runs = RunStore(riskboard_home)
    with pytest.raises(ScoreImportError, match=message):
        import_scores(runs, _scored_csv(**extra), "bad.csv", label="label", **kwargs)
    assert runs.list() == []  # no half-made run


def test_mismatched_lengths_are_refused():
    with pytest.raises(ScoreImportError, match=MISMATCHED.split("{")[0]):
        check_scores(pd.Series([0, 1, 1], name="label"), pd.Series([0.2, 0.4]), positive="1", decisions=False,
                     name="score")
    assert LABEL_CLASSES  # message constant exported for the page


@pytest.mark.slow
def test_reductions_run_as_a_background_job_through_a_real_worker(trained):
    runs, run_id = trained
    child = start_mitigation(runs, run_id, method="reductions", constraint="equalized_odds", sensitive=["group"],
                             background=True, options={"max_iter": 2})
    record = jobs.wait_for(runs, child, timeout_s=240)
    assert record.status == SUCCEEDED, record.error
    assert record.parent_id == run_id and record.task == "core.fairness._reductions:execute_reductions"
    assert len(runs.epochs(child)) == record.metrics["models_fitted"]  # progress logged as the members fit


def test_a_rule_that_changes_nothing_is_refused_and_no_run_is_stored(trained):
    runs, run_id = trained
    before = {r.id for r in runs.list()}
    scores = load_run_scores(runs, run_id)
    same = DecisionRule(strategy="single", default=scores.threshold)
    with pytest.raises(MitigationNoEffectError, match=r"same decision as run .* on all [\d,]+ of its test rows"):
        start_mitigation(runs, run_id, method="thresholds", sensitive=["group"], rule=same)
    assert {r.id for r in runs.list()} == before


def test_the_rule_shown_is_the_rule_saved_and_named(trained):
    runs, run_id = trained
    shown = DecisionRule(strategy="manual", thresholds={"A": 0.3, "B": 0.7, "missing": 0.5})
    child = start_mitigation(runs, run_id, method="thresholds", sensitive=["group"], rule=shown)
    stored = runs.artifacts(child).read_json(DECISION_RULE_JSON)
    assert stored["thresholds"] == {"A": 0.3, "B": 0.7, "missing": 0.5} and stored["strategy"] == "manual"
    record = runs.get(child)
    assert record.name == "thresholds: hand-set thresholds per group"
    assert "demographic" not in display_name(record)
    parent, mitigated = load_run_scores(runs, run_id), load_run_scores(runs, child)
    assert not np.array_equal(parent.y_pred, mitigated.y_pred)
