"""AppTest of pages/fairness.py: a trained run's groups and gaps, the threshold tool, mitigation, and imports."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import jobs
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.fairness import DECISIONS_ONLY, GROUP_CAVEAT, import_scores
from core.runs import SUCCEEDED, RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from tests.app._apptest import open_page as open_app_page
from tests.app._apptest import plain
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "fairness.py")


@pytest.fixture
def trained_run(riskboard_home) -> str:
    datasets = DatasetStore(riskboard_home)
    meta = datasets.add(synthetic_biased(900, seed=2).to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"),
                       sensitive=(SensitiveColumn("group"), SensitiveColumn("segment")), name="loans")
    runs = RunStore(riskboard_home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(), name="loans",
                             config=TrainConfig(model="logistic", epochs=3, batch_size=128).to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED
    return run_id


def open_page(**query) -> AppTest:
    return open_app_page(PAGE, **query)


def test_empty_workspace_offers_the_import_form(riskboard_home):
    at = open_page()
    assert any("No finished run yet" in i.value for i in at.info)


def test_trained_run_shows_groups_summary_charts_and_tradeoff(trained_run):
    at = open_page(run=trained_run)
    assert at.selectbox(key="fair-run").value == trained_run
    summary = [plain(m.value) for m in at.markdown if "is selected at" in m.value]
    assert summary and re.search(r"B is selected at 0\.\d\d the rate of A; interval 0\.\d\d-\d\.\d\d", summary[0])
    table = at.dataframe[0].value
    assert table["Group"].tolist() == ["A", "B"] and table["Rows"].str.replace(",", "").astype(int).sum() > 100
    assert {"Share selected: 95% interval", "True positive rate (recall)", "Note"} <= set(table.columns)
    assert not any("_" in c for c in table.columns)  # no internal names
    assert set(table["Rank"]) <= {"1", "2", "not ranked"}
    assert len(at.get("plotly_chart")) == 2  # group bars + fairness-accuracy chart

    at.selectbox(key="fair-metric").set_value("tpr").run()
    assert not at.exception
    at.multiselect(key="fair-sensitive").set_value(["group", "segment"]).run()
    at.checkbox(key="fair-intersect").check().run()
    assert not at.exception
    assert any("group × segment" in s.value for s in at.subheader)
    assert len(at.get("plotly_chart")) == 3  # bars, heatmap, trade-off


def test_threshold_tool_and_saving_a_rule_as_a_linked_run(riskboard_home, trained_run):
    at = open_page(run=trained_run)
    at.selectbox(key="fair-strategy").set_value("demographic_parity").run()
    assert not at.exception
    assert sum(GROUP_CAVEAT[:40] in plain(c.value) for c in at.caption) == 1  # the legal caution once
    assert any("randomises the decision" in plain(c.value) for c in at.caption)
    assert at.radio(key="fair-rule-choice").options == ["Equal share selected per group (randomised)",
                                                         "Equal share selected per group (fixed thresholds)"]
    at.button(key="fair-save-rule").click().run()
    assert not at.exception, at.exception
    runs = RunStore(riskboard_home)
    [child] = runs.children(trained_run)
    assert child.status == SUCCEEDED and any("linked to" in plain(s.value) for s in at.success)
    rule = runs.artifacts(child.id).read_json("decision_rule.json")
    assert rule["strategy"] == at.radio(key="fair-rule-choice").value  # the rule shown is the rule saved


def test_a_rule_that_changes_nothing_is_refused_with_the_reason(riskboard_home, trained_run):
    at = open_page(run=trained_run)
    assert at.selectbox(key="fair-strategy").value == "single"
    at.button(key="fair-save-rule").click().run()
    assert not at.exception, at.exception
    assert any("would be an exact copy" in plain(e.value) for e in at.error)
    assert RunStore(riskboard_home).children(trained_run) == []


def test_decision_only_import_says_why_thresholds_are_off(riskboard_home):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"label": rng.integers(0, 2, 300), "decision": rng.integers(0, 2, 300),
                          "grp": rng.choice(["p", "q"], 300)})
    run_id, _ = import_scores(RunStore(riskboard_home), frame.to_csv(index=False).encode(), "d.csv", label="label",
                              decision="decision", sensitive=["grp"])
    at = open_page(run=run_id)
    assert any(DECISIONS_ONLY[:40] in i.value for i in at.info)
    assert any("no model to retrain" in c.value for c in at.caption)


def test_import_form_creates_an_import_run(riskboard_home):
    rng = np.random.default_rng(1)
    label = rng.integers(0, 2, 300)
    frame = pd.DataFrame({"label": label, "score": np.round(0.3 * label + 0.7 * rng.random(300), 3),
                          "grp": rng.choice(["p", "q"], 300)})
    at = open_page()
    at.file_uploader(key="fair-import-upload").set_value(("scored.csv", frame.to_csv(index=False).encode(),
                                                          "text/csv")).run()
    assert not at.exception, at.exception
    at.selectbox(key="fair-import-label").set_value("label")
    at.selectbox(key="fair-import-score").set_value("score")
    at.multiselect(key="fair-import-sensitive").set_value(["grp"])
    next(b for b in at.button if b.label == "Import as a run").click().run()
    assert not at.exception, at.exception
    [record] = RunStore(riskboard_home).list()
    assert record.kind == "import" and record.status == SUCCEEDED


def _upload_logistic_onnx() -> AppTest:
    """The page with a logistic ONNX model and its table uploaded, and the label column chosen."""
    from tests.core import _onnx_models as onnx_models

    frame = onnx_models.table(300)
    _, model = onnx_models.logistic(frame)
    at = open_page()
    at.file_uploader(key="model-import-onnx").set_value(("lr.onnx", model, "application/octet-stream"))
    at.file_uploader(key="model-import-data").set_value(("t.csv", frame.to_csv(index=False).encode(),
                                                         "text/csv")).run()
    assert not at.exception, at.exception
    at.selectbox(key="model-import-target").set_value("y")
    return at


def test_onnx_upload_shows_the_mapping_and_imports_the_model(riskboard_home):
    at = _upload_logistic_onnx()
    at.multiselect(key="model-import-features").set_value(["a", "b", "c"])
    at.multiselect(key="model-import-sensitive").set_value(["g"])
    at.selectbox(key="model-import-members").set_value("member")
    next(b for b in at.button if b.label == "Check the mapping").click().run()
    assert not at.exception, at.exception
    assert not RunStore(riskboard_home).list()  # checking stores nothing
    assert not at.error, [e.value for e in at.error]
    mapping = next(d.value for d in at.dataframe if "model input" in d.value.columns)
    assert mapping.to_dict("records") == [{"model input": "X", "type": "tensor(float)", "shape": "[N, 3]",
                                           "table columns": "a, b, c"}]
    next(b for b in at.button if b.label == "Import as a run").click().run()
    assert not at.exception, at.exception
    [record] = RunStore(riskboard_home).list()
    assert record.kind == "uploaded" and record.status == SUCCEEDED
    assert any(record.id in plain(s.value) for s in at.success)


def test_onnx_upload_with_mismatched_columns_shows_the_error(riskboard_home):
    at = _upload_logistic_onnx()
    next(b for b in at.button if b.label == "Import as a run").click().run()
    assert not at.exception, at.exception
    assert any("takes 3 columns" in plain(e.value) for e in at.error)
    assert not RunStore(riskboard_home).list()
