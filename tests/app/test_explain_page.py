"""AppTest of pages/explain.py on a trained run: views, additivity sentence, row counts, what-if and its hints."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from core import jobs
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.runs import RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from tests.conftest import ROOT

PAGE = str(ROOT / "pages" / "explain.py")


def plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory):
    """One trained run shared by the module's tests (training is the slow part)."""
    home = tmp_path_factory.mktemp("explain-page-home")
    datasets = DatasetStore(home)
    meta = datasets.add(synthetic_biased(1200, seed=5).to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"),
                       sensitive=(SensitiveColumn("group"),), name="loans")
    runs = RunStore(home)
    config = TrainConfig(hidden=(16,), epochs=5, batch_size=128, learning_rate=1e-2).to_dict()
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(), config=config, task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    return home, run_id


@pytest.fixture
def trained_run(trained_home, monkeypatch) -> str:
    home, run_id = trained_home
    monkeypatch.setenv("RISKBOARD_HOME", str(home))
    return run_id


def open_page(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.success]
    return plain(" ".join(parts))


def test_page_without_runs_says_what_to_do():
    at = open_page()
    assert any("No finished run yet" in i.value for i in at.info)


def test_page_explains_the_current_run(trained_run):
    at = open_page(run=trained_run)
    assert at.selectbox(key="explain-run").value == trained_run
    body = texts(at)
    assert "Attributions add up to the model's score within" in body
    assert "Explained 180 of the run's 180 test rows" in body and "The dataset has 1,200 rows" in body
    assert "log-odds on average" in body
    charts = at.get("plotly_chart")
    assert len(charts) >= 5  # importance, beeswarm, dependence, by group, waterfall
    assert "Which features move the score most" in charts[0].proto.spec
    assert "pushes this row" in body  # the what-if row's plain-language sentences
    assert any(m.label.startswith("Decision at threshold 0.50") for m in at.metric)
    assert "describe the model, not the world" in body


def test_settings_recompute_and_say_how_many_rows(trained_run):
    at = open_page(run=trained_run)
    at.number_input(key="explain-rows").set_value(50).run()
    assert not at.exception, at.exception
    assert "Explained 50 of the run's 180 test rows" in texts(at)
    at.checkbox(key="explain-kmeans").check().run()
    assert not at.exception, at.exception
    assert "against a background of 200 k-means centres of the training rows" in texts(at)


def test_whatif_edit_and_counterfactual_hints(trained_run):
    at = open_page(run=trained_run)
    before = next(m for m in at.metric if m.label.startswith("Probability")).value
    income = next(n for n in at.number_input if n.label == "income\\_k")
    income.set_value(income.value + 3).run()
    assert not at.exception, at.exception
    after = next(m for m in at.metric if m.label.startswith("Probability")).value
    assert float(after.rstrip("%")) > float(before.rstrip("%"))  # more income, higher approval (true effect +1.5)
    assert "Edited: income_k" in texts(at)
    at.radio(key="whatif-mode").set_value("A rejected row near the threshold").run()
    at.button(key="whatif-search").click().run()
    assert not at.exception, at.exception
    hints = [m.value for m in at.markdown if plain(m.value).startswith("- Change ")]
    assert hints and all("group" not in plain(h).split(":")[0] for h in hints)


def test_imported_run_is_explained_as_impossible(trained_home, trained_run):
    runs = RunStore(trained_home[0])
    record = runs.get(trained_run)
    imported = runs.create_run(kind="import", dataset_id=record.dataset_id, spec=record.spec, config={}, task=TASK)
    runs.finish(imported, "succeeded", metrics={})
    at = open_page(run=imported)
    assert any("no model here to explain" in plain(e.value) for e in at.error)


def test_uploaded_gradient_boosting_model_is_explained_and_edited(riskboard_home):
    from core.fairness import import_model
    from tests.core import _onnx_models as onnx_models

    frame = onnx_models.table(300)
    _, model = onnx_models.gradient_boosting(frame)
    run_id, _ = import_model(RunStore(riskboard_home), model, "hgb.onnx", frame.to_csv(index=False).encode(),
                             "t.csv", target="y", features=onnx_models.FEATURES, sensitive=["g"], members="member")
    at = open_page(run=run_id)
    body = texts(at)
    assert "shap's model-agnostic explainers" in body and "Model-agnostic exact Shapley values" in body
    assert "Attributions add up to the model's score within" in body
    assert "Explained 150 of the run's 150 test rows" in body
    before = next(m for m in at.metric if m.label.startswith("Probability")).value
    feature = next(n for n in at.number_input if n.label == "a")
    feature.set_value(feature.value + 3).run()
    assert not at.exception, at.exception
    after = next(m for m in at.metric if m.label.startswith("Probability")).value
    assert float(after.rstrip("%")) > float(before.rstrip("%"))  # a pushes the label up in the table's design
    at.radio(key="whatif-mode").set_value("A rejected row near the threshold").run()
    at.button(key="whatif-search").click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown if plain(m.value).startswith("- Change ")]
