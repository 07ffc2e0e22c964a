"""AppTests of a new user's first hour: leaky columns left out, the target shown as a guess, specs that come back
with names that tell them apart, the home page, and next-step links on every page."""

from __future__ import annotations

import os
import re

import numpy as np
from streamlit.testing.v1 import AppTest

from core import jobs
from core.data.spec import DatasetSpec
from core.data.store import DatasetStore
from core.runs import RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK
from tests.app.test_data_page import csv_bytes, open_page, plain, upload
from tests.conftest import ROOT
from tests.leaky_data import LEAKY_COLUMNS, leaky_loans
from ui.workflow import registered_pages

APP = str(ROOT / "app.py")


def open_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def links(at: AppTest) -> list[str]:
    return [link.label for link in at.get("page_link")]


def test_leaky_columns_are_left_out_by_default_with_reasons(riskboard_home):
    at = upload(open_page(), "leaky.csv", csv_bytes(leaky_loans()))
    suffix = at.selectbox(key="dataset_id").value[:12]
    assert at.selectbox(key=f"target-{suffix}").value == "approved"
    guess = [plain(i.value) for i in at.info if "Target guessed" in plain(i.value)]
    assert guess and "This is a guess: confirm it" in guess[0] and "it has two classes" in guess[0]
    features = at.multiselect(key=f"features-{suffix}-approved").value
    assert not set(LEAKY_COLUMNS) & set(features)
    assert set(features) == {"income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"}
    reasons = " ".join(plain(m.value) for m in at.markdown)
    # one line per reason (constant or empty columns would share one line); leakage reasons name their column
    assert "- possible target leakage: column 'decision_code' is the target" in reasons
    assert "- possible target leakage: column 'approved_flag' alone ranks the classes" in reasons
    assert any("2 columns may give the target away and are left out" in plain(w.value) for w in at.warning)
    # the user can put one back deliberately: it is selected, and the page says what that means
    at.multiselect(key=f"features-{suffix}-approved").set_value([*features, "approved_flag"]).run()
    assert any(plain(w.value).startswith("You selected a column that may leak the target: column 'approved_flag'")
               for w in at.warning)
    next(b for b in at.button if b.label == "Save spec").click().run()
    assert not at.error
    [saved] = DatasetStore(riskboard_home).list_specs(at.selectbox(key="dataset_id").value)
    assert "approved_flag" in saved.features


def test_reopening_restores_the_saved_spec_and_save_again_keeps_it(riskboard_home):
    frame = leaky_loans(400).assign(age=lambda f: np.arange(len(f)) % 60 + 20)
    at = upload(open_page(), "loans.csv", csv_bytes(frame))
    dataset_id = at.selectbox(key="dataset_id").value
    suffix = dataset_id[:12]
    # a target other than the guess, a chosen positive class, features, and a binned sensitive column
    at.selectbox(key=f"target-{suffix}").set_value("segment").run()
    classes = at.selectbox(key=f"positive-{suffix}-segment").options
    at.selectbox(key=f"positive-{suffix}-segment").set_value(classes[0]).run()
    at.multiselect(key=f"features-{suffix}-segment").set_value(["income_k", "debt_ratio", "group"]).run()
    at.multiselect(key=f"sensitive-{suffix}-segment").set_value(["group", "age"]).run()
    at.selectbox(key=f"binning-{suffix}-age").set_value("edges").run()
    at.text_input(key=f"edges-{suffix}-age").set_value("30, 50").run()
    next(b for b in at.button if b.label == "Save spec").click().run()
    assert not at.error, [e.value for e in at.error]
    store = DatasetStore(riskboard_home)
    [saved] = store.list_specs(dataset_id)

    fresh = open_page()  # a new session reopens the dataset: its most recent saved spec comes back
    fresh.selectbox(key="dataset_id").set_value(dataset_id).run()
    assert fresh.selectbox(key=f"target-{suffix}").value == "segment"
    assert fresh.selectbox(key=f"positive-{suffix}-segment").value == classes[0]
    assert fresh.multiselect(key=f"features-{suffix}-segment").value == ["income_k", "debt_ratio", "group"]
    assert fresh.multiselect(key=f"sensitive-{suffix}-segment").value == ["group", "age"]
    assert fresh.selectbox(key=f"binning-{suffix}-age").value == "edges"
    assert fresh.text_input(key=f"edges-{suffix}-age").value == "30, 50"
    assert any("Restored your most recent saved spec" in plain(c.value) for c in fresh.caption)
    next(b for b in fresh.button if b.label == "Save spec").click().run()
    assert [s.spec_id for s in store.list_specs(dataset_id)] == [saved.spec_id]  # not a different spec
    assert store.list_specs(dataset_id)[0].name == saved.name


def test_saved_specs_have_names_that_tell_them_apart(riskboard_home):
    at = upload(open_page(), "loans.csv", csv_bytes(leaky_loans()))
    dataset_id = at.selectbox(key="dataset_id").value
    suffix = dataset_id[:12]
    next(b for b in at.button if b.label == "Save spec").click().run()
    at.multiselect(key=f"features-{suffix}-approved").set_value(["income_k", "debt_ratio"]).run()
    next(b for b in at.button if b.label == "Save spec").click().run()
    at.multiselect(key=f"features-{suffix}-approved").set_value(["income_k", "noise"]).run()
    next(b for b in at.button if b.label == "Save spec").click().run()
    names = [s.name for s in DatasetStore(riskboard_home).list_specs(dataset_id)]
    assert names == ["approved = yes · 2 features (2)", "approved = yes · 2 features", "approved = yes · 6 features"]


def test_home_page_is_the_default_route_with_workflow_and_next_step(riskboard_home):
    at = open_app()
    assert [t.value for t in at.title] == ["Riskboard"]
    text = [plain(m.value) for m in at.markdown]
    assert text[0].startswith("Riskboard weighs the risks of a classifier")
    steps = [t for t in text if re.match(r"^\*\*(→ )?\d\. ", t)]
    built = [p.removeprefix("pages/").removesuffix(".py") for p in
             re.findall(r'st\.Page\("(pages/[a-z]+\.py)"', (ROOT / "app.py").read_text())]
    order = ["data", "train", "explain", "fairness", "privacy", "report"]
    assert [re.sub(r"^\*\*(→ )?\d\. |\*\*$", "", t).lower() for t in steps] == [k for k in order if k in built]
    assert "**Dataset:** adult.csv.gz (32,561 rows)" in text  # the demo, added on a first visit
    assert "**Spec:** Adult: income >50K" in text and "**Run:** none yet" in text
    [button] = [b for b in at.button if b.key == "home-next"]
    assert button.label == "Next: Train: Train a model on this spec" and not button.disabled
    assert "**→ 2. Train**" in text


def test_every_page_shows_the_context_and_links_the_next_step(riskboard_home):
    at = open_app()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert any("Dataset: adult.csv.gz (32,561 rows) · Spec: Adult: income >50K · Run: none yet" in plain(c.value)
               for c in at.caption)
    assert "Next: Train" in links(at)
    assert "Train on this spec" in links(at)  # the demo's saved spec is what the form shows
    for page in ("pages/train.py", *(p for p in registered_pages() if p not in ("pages/home.py", "pages/data.py",
                                                                              "pages/train.py"))):
        at.switch_page(page).run()
        assert not at.exception, page
        assert any(plain(c.value).startswith("Dataset: adult.csv.gz") for c in at.caption), page


def test_after_save_the_data_page_offers_train_on_this_spec(riskboard_home):
    # run on its own, the page has no router, so the link is shown as text (the routed link is checked above)
    at = upload(open_page(), "loans.csv", csv_bytes(leaky_loans(300)))
    assert not [c for c in at.caption if plain(c.value) == "Train on this spec"]  # nothing saved for it yet
    next(b for b in at.button if b.label == "Save spec").click().run()
    assert any("Saved spec" in plain(s.value) for s in at.success)
    assert [c for c in at.caption if plain(c.value) == "Train on this spec"]
    [saved] = DatasetStore(riskboard_home).list_specs(at.session_state["dataset_id"])
    assert at.session_state["spec_id"] == saved.spec_id  # the Train page opens on it


TRAIN_PAGE = str(ROOT / "pages" / "train.py")


def leaky_run(home, *, features: tuple[str, ...] | None = None, status: str = "train") -> tuple[str, RunStore]:
    store = DatasetStore(home)
    frame = leaky_loans()
    meta = store.add(csv_bytes(frame), "leaky.csv")
    # decision_code is refused as a feature (it is the target relabelled); approved_flag is the one a user can add
    chosen = features or tuple(c for c in frame.columns if c not in ("approved", "decision_code"))
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes", features=chosen, name="leaky")
    store.save_spec(spec)
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(),
                             config=TrainConfig(epochs=3, model="logistic").to_dict(), task=TASK)
    if status == "train":
        jobs.run_inline(runs, run_id, TASK)
    return run_id, runs


def test_a_leaked_run_carries_the_caution_naming_the_columns(riskboard_home):
    run_id, runs = leaky_run(riskboard_home)
    assert runs.get(run_id).status == "succeeded", runs.get(run_id).error
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    [caution] = [plain(w.value) for w in at.warning if "Too good to be true" in plain(w.value)]
    assert caution.startswith("Too good to be true: check for leakage.")
    assert "On its own, 'approved_flag' (ROC AUC 0.995 alone) separates the classes" in caution


def test_an_honest_run_has_no_caution(riskboard_home):
    honest = ("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group")
    run_id, runs = leaky_run(riskboard_home, features=honest)
    assert runs.get(run_id).metrics["roc_auc"] < 0.95
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    assert not [w for w in at.warning if "Too good to be true" in plain(w.value)]


def test_a_new_session_on_the_train_page_shows_the_run_training_now(riskboard_home):
    run_id, runs = leaky_run(riskboard_home, status="running")
    assert runs.claim(run_id, pid=os.getpid(), max_jobs=1)  # alive, so the reaper leaves it
    runs.log_epoch(run_id, 1, {"train_loss": 0.6, "val_loss": 0.62, "val_accuracy": 0.7, "val_auc": 0.8})
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60)
    at.run()  # no ?run= in the URL, nothing in this session
    assert not at.exception
    assert any(f"Run {run_id}" in plain(c.value) for c in at.caption)
    bars = at.get("progress")
    assert bars and "epoch 1 of 3" in bars[0].proto.text
    runs.finish(run_id, "cancelled")
