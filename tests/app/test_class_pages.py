"""AppTest of the class picker on a multiclass run: Fairness (one-vs-rest, the worst class per gap, a rule saved for
the chosen class), Explain (the chosen class's logit) and Report (the chosen class, every class in a table); binary
runs show no picker."""

from __future__ import annotations

import pytest

from core import jobs
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.fairness import DECISION_RULE_JSON
from core.runs import SUCCEEDED, RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from tests.app._apptest import open_page, plain
from tests.conftest import ROOT
from tests.core.test_multiclass import _three_classes
from ui.fairness_view import METHOD_WORDS

PAGES = ROOT / "pages"


@pytest.fixture
def multiclass_run(riskboard_home, monkeypatch) -> str:
    monkeypatch.setenv("RISKBOARD_FAIRNESS_MIN_GROUP", "5")
    monkeypatch.setenv("RISKBOARD_FAIRNESS_RESAMPLES", "50")
    datasets = DatasetStore(riskboard_home)
    meta = datasets.add(_three_classes().to_csv(index=False).encode(), "kinds.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="kind", positive_class="high", features=("f1", "f2", "group"),
                       sensitive=(SensitiveColumn("group"),), name="kinds")
    runs = RunStore(riskboard_home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(), name="kinds",
                             config=TrainConfig(model="logistic").to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED
    return run_id


def test_fairness_page_looks_at_the_chosen_class_and_names_the_worst(multiclass_run):
    at = open_page(str(PAGES / "fairness.py"), run=multiclass_run)
    picker = at.selectbox(key=f"class-fairness-{multiclass_run}")
    assert picker.value == "high" and picker.options == ["high", "low", "mid"]
    worst = next(t.value for t in at.dataframe if "worst class" in t.value.columns)
    assert set(worst["worst class"]) <= {"high", "low", "mid"} and "Gap in share selected" in set(worst["disparity"])
    assert not any("_" in name for name in worst["disparity"])  # plain words, never the engine's names
    picker.set_value("mid").run()
    assert not at.exception, at.exception
    assert any("Class mid against the rest" in plain(m.value) for m in at.markdown)


def test_explain_page_explains_the_chosen_class(multiclass_run):
    at = open_page(str(PAGES / "explain.py"), run=multiclass_run)
    at.selectbox(key=f"class-explain-{multiclass_run}").set_value("low").run()
    assert not at.exception, at.exception
    assert any(m.label == "Probability of low" for m in at.metric)
    assert "pushes this row towards 'low'" in plain(" ".join(m.value for m in at.markdown))


def test_report_page_covers_the_chosen_class(multiclass_run):
    at = open_page(str(PAGES / "report.py"), run=multiclass_run)
    at.selectbox(key=f"class-report-{multiclass_run}").set_value("mid").run()
    assert not at.exception, at.exception
    assert any("This report covers class mid against the other 2" in plain(c.value) for c in at.caption)
    table = next(t.value for t in at.dataframe if "support" in t.value.columns)
    assert table["class"].tolist() == ["high", "low", "mid", "macro average", "weighted average"]


def test_fairness_page_saves_a_rule_for_the_chosen_class(multiclass_run, riskboard_home):
    at = open_page(str(PAGES / "fairness.py"), run=multiclass_run)
    at.selectbox(key=f"class-fairness-{multiclass_run}").set_value("mid").run()
    assert at.selectbox(key="fair-method").options == [METHOD_WORDS["reweight"]]  # reductions need two classes
    assert any("fits binary classifiers" in plain(c.value) for c in at.caption)
    at.selectbox(key="fair-strategy").set_value("single").run()
    at.slider(key="fair-threshold").set_value(0.2).run()
    at.button(key="fair-save-rule").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    children = RunStore(riskboard_home).children(multiclass_run)
    assert len(children) == 1 and children[0].name.endswith("(class mid vs rest)")
    rule = RunStore(riskboard_home).artifacts(children[0].id).read_json(DECISION_RULE_JSON)
    assert rule["class"] == "mid" and rule["default"] == pytest.approx(0.2)
