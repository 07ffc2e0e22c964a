"""AppTest of pages/privacy.py (calculator, audit, per-group leakage, privacy-utility) and of the Train page's
privacy knobs, live budget meter and private run summary."""

from __future__ import annotations

import os
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

PRIVACY = str(ROOT / "pages" / "privacy.py")
TRAIN = str(ROOT / "pages" / "train.py")


def plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.fixture
def spec(riskboard_home) -> DatasetSpec:
    store = DatasetStore(riskboard_home)
    meta = store.add(synthetic_biased(700, seed=3).to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"),
                       sensitive=(SensitiveColumn("group"),), name="loans")
    store.save_spec(spec)
    return spec


def train(home, spec, **config) -> str:
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=spec.dataset_id, spec=spec.to_dict(),
                             config=TrainConfig(**config).to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == "succeeded", runs.get(run_id).error
    return run_id


def open_page(path: str, **query) -> AppTest:
    at = AppTest.from_file(path, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_calculator_reference_value_and_target_search(riskboard_home):
    at = open_page(PRIVACY)
    at.number_input(key="calc-rows").set_value(25_000)
    at.number_input(key="calc-batch").set_value(1000)
    at.number_input(key="calc-epochs").set_value(90)
    at.number_input(key="calc-noise").set_value(1.5)
    at.text_input(key="calc-delta").set_value("1e-5")
    at.selectbox(key="calc-accountant").set_value("rdp").run()
    assert not at.exception
    assert metrics(at)["Epsilon"] == "7.329"  # Opacus's own RDP test value
    assert any("No finished run" in i.value for i in at.info)
    at.radio(key="calc-mode").set_value("noise for a target epsilon")
    at.number_input(key="calc-epochs").set_value(5)
    at.number_input(key="calc-target").set_value(4.0).run()
    assert float(metrics(at)["Epsilon"]) <= 4.0
    at.text_input(key="calc-delta").set_value("tiny").run()
    assert any("delta must be a number" in plain(e.value) for e in at.error)


def test_audit_of_a_run_with_groups_and_utility_chart(riskboard_home, spec):
    plain_run = train(riskboard_home, spec, epochs=3)
    private_run = train(riskboard_home, spec, epochs=3, noise_multiplier=1.0, accountant="rdp")
    at = open_page(PRIVACY)
    at.selectbox(key="audit-run").set_value(private_run)
    at.radio(key="audit-attack").set_value("loss").run()
    assert any("Not audited" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Run audit").click().run()
    assert not at.exception, at.exception
    values = metrics(at)
    assert 0.0 <= float(values["Attack AUC"]) <= 1.0
    upper = RunStore(riskboard_home).get(private_run).metrics["epsilon"]
    assert values["Epsilon upper bound (accountant)"] == f"{upper:.2f}"
    texts = " ".join(plain(m.value) for m in at.markdown)
    assert "accountant guarantees epsilon at most" in texts and "Audited" in texts
    assert any("Leakage by group" in h.value for h in at.subheader)
    table = at.table[0].value.rename(columns=plain)  # an HTML table: its cells are escaped Markdown
    assert {"members audited", "non-members audited", "attack AUC"} <= set(table.columns)
    assert {"test rows", "accuracy", "selection rate"} <= set(table.columns)  # the group's fairness beside it
    assert "Accuracy cost seen on this dataset" in texts
    # cached: reopening shows the result without a button press
    again = open_page(PRIVACY)
    again.selectbox(key="audit-run").set_value(private_run)
    again.radio(key="audit-attack").set_value("loss").run()
    assert "Attack AUC" in metrics(again) and not any(b.label == "Run audit" for b in again.button)
    again.selectbox(key="audit-run").set_value(plain_run).run()
    assert any(b.label == "Run audit" for b in again.button)


def test_train_page_submits_a_private_run(riskboard_home, spec):
    at = open_page(TRAIN)
    at.radio(key="dp-mode").set_value("Target epsilon")
    at.number_input(key="dp-epsilon").set_value(3.0)
    at.text_input(key="dp-delta").set_value("1e-4")
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, at.exception
    [record] = RunStore(riskboard_home).list()
    assert record.config["target_epsilon"] == 3.0 and record.config["delta"] == 1e-4
    # the DP-SGD recipe box is ticked by default: it replaces the optimiser settings of the form
    assert (record.config["optimizer"], record.config["learning_rate"], record.config["epochs"],
            record.config["early_stopping_patience"]) == ("sgd", 0.5, 10, 0)
    jobs.cancel(RunStore(riskboard_home), record.id, wait_s=30)


def test_train_page_private_run_without_the_recipe_keeps_the_form(riskboard_home, spec):
    at = open_page(TRAIN)
    at.radio(key="dp-mode").set_value("Fixed noise multiplier")
    at.checkbox(key="dp-recipe").uncheck()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, at.exception
    [record] = RunStore(riskboard_home).list()
    assert record.config["noise_multiplier"] == 1.0 and record.config["optimizer"] == "adamw"
    assert record.config["epochs"] == TrainConfig().epochs
    jobs.cancel(RunStore(riskboard_home), record.id, wait_s=30)


def test_live_meter_beside_the_loss_curves(riskboard_home, spec):
    runs = RunStore(riskboard_home)
    run_id = runs.create_run(kind="train", dataset_id=spec.dataset_id, spec=spec.to_dict(),
                             config=TrainConfig(epochs=10, target_epsilon=2.0).to_dict(), task=TASK)
    assert runs.claim(run_id, pid=os.getpid(), max_jobs=1)
    for epoch, eps in ((1, 0.4), (2, 0.7)):
        runs.log_epoch(run_id, epoch, {"train_loss": 0.6, "val_loss": 0.6, "val_accuracy": 0.6, "val_auc": 0.7,
                                       "epsilon": eps})
    at = open_page(TRAIN, run=run_id)
    gauges = [c for c in at.get("plotly_chart") if '"indicator"' in c.proto.spec]
    assert len(gauges) == 1 and '"value":0.7' in gauges[0].proto.spec.replace(" ", "")
    runs.log_epoch(run_id, 3, {"train_loss": 0.5, "val_loss": 0.6, "val_accuracy": 0.6, "val_auc": 0.7,
                               "epsilon": 0.9})
    at = open_page(TRAIN, run=run_id)  # the meter moves with the next poll
    gauge = next(c for c in at.get("plotly_chart") if '"indicator"' in c.proto.spec)
    assert '"value":0.9' in gauge.proto.spec.replace(" ", "")
    runs.finish(run_id, "cancelled")


def test_private_run_summary(riskboard_home, spec):
    run_id = train(riskboard_home, spec, epochs=2, noise_multiplier=1.2, accountant="rdp", max_grad_norm=0.5)
    at = open_page(TRAIN, run=run_id)
    values = metrics(at)
    assert values["Accountant"] == "RDP" and values["Clipping norm"] == "0.5"
    assert values["Noise multiplier"] == "1.200" and float(values["Epsilon spent"]) > 0


def test_reference_audit_runs_as_a_background_job(riskboard_home, spec):
    from core.privacy import AUDIT_KIND, audit_progress, wait_audit

    run_id = train(riskboard_home, spec, epochs=2)
    at = open_page(PRIVACY)
    at.selectbox(key="audit-run").set_value(run_id)
    at.number_input(key="audit-k").set_value(1).run()
    next(b for b in at.button if b.label == "Run audit").click().run()
    assert not at.exception, at.exception
    runs = RunStore(riskboard_home)
    [job] = [r for r in runs.list() if r.kind == AUDIT_KIND]
    assert job.config == {"target_run": run_id, "attack": "reference", "reference_models": 1}
    bars = at.get("progress")
    assert bars and "audit" in bars[0].proto.text
    final = wait_audit(runs, job.id, timeout_s=240)
    assert final.status == "succeeded", final.error
    assert final.fraction == 1.0 and audit_progress(runs, job.id).remaining_s is None
    again = open_page(PRIVACY)
    again.selectbox(key="audit-run").set_value(run_id)
    again.number_input(key="audit-k").set_value(1).run()
    assert "Attack AUC" in metrics(again)
    assert any("Reference models" in (c.proto.spec or "") for c in again.get("plotly_chart"))
    # audit jobs stay off the Train page's run history
    train_page = open_page(TRAIN)
    assert job.id not in " ".join(train_page.dataframe[0].value["run"].tolist())


def test_uploaded_model_gets_the_loss_audit_and_says_why_not_the_reference_one(riskboard_home):
    from core.fairness import import_model
    from tests.core import _onnx_models as onnx_models

    frame = onnx_models.table(300)
    _, model = onnx_models.logistic(frame)
    run_id, _ = import_model(RunStore(riskboard_home), model, "lr.onnx", frame.to_csv(index=False).encode(),
                             "t.csv", target="y", features=onnx_models.FEATURES, sensitive=["g"], members="member")
    at = open_page(PRIVACY)
    at.selectbox(key="audit-run").set_value(run_id).run()
    assert any("the reference attack would need retraining" in plain(i.value) for i in at.info)
    assert at.radio(key="audit-attack-uploaded").options == ["Loss threshold"]
    next(b for b in at.button if b.label == "Run audit").click().run()
    assert not at.exception, at.exception
    assert 0.0 <= float(metrics(at)["Attack AUC"]) <= 1.0
    texts = " ".join(plain(m.value) for m in at.markdown)
    assert "Audited 150 training rows against 150 held-out rows" in texts
    assert "could never prove more than" in texts or "no audit could prove more than" in texts
