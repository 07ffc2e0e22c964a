"""The textbook classifier as a test: a linear model on 784 pixel columns and 10 classes, trained with
cross-entropy and SGD from the Train page and from the command line, and every view on it.

The table is generated here (a few hundred 28 x 28 "images": one stroke pattern per class, partly inked, plus stray
ink, the border blank as in MNIST, so a couple of hundred columns are constant). No single pixel gives the class
away, so the run must not be called leaked, and the constant pixels must be one warning line, not hundreds.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import jobs
from core.cli import main
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.runs import SUCCEEDED, RunStore
from tests.conftest import ROOT

SIDE, CLASSES, ROWS = 28, 10, 300
TEXTBOOK = ["--model", "logistic", "--solver", "minibatch", "--optimizer", "sgd", "--learning-rate", "0.05",
            "--epochs", "8", "--min-steps", "0", "--seed", "0"]


def pixels(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """``rows`` images of 28 x 28 pixels (0-255) and their digit; the 4-pixel border is always 0."""
    rng = np.random.default_rng(seed)
    inner = np.zeros((SIDE, SIDE), dtype=bool)
    inner[4:-4, 4:-4] = True
    prototypes = (rng.random((CLASSES, SIDE * SIDE)) < 0.3) & inner.reshape(-1)
    labels = np.arange(rows) % CLASSES
    rng.shuffle(labels)
    # each stroke pixel is inked in 60% of its class's images and stray ink falls anywhere in 15% of pixels, so no
    # single pixel tells a class apart (alone each ranks a class at ROC AUC well under 0.9) while the image does
    shape = (rows, SIDE * SIDE)
    ink = prototypes[labels] * (rng.random(shape) < 0.6) * rng.uniform(100, 255, shape)
    noise = rng.uniform(0, 255, shape) * (rng.random(shape) < 0.15)
    image = np.maximum(ink, noise) * inner.reshape(-1)
    frame = pd.DataFrame(image.round().astype(np.int64), columns=[f"px{i}" for i in range(SIDE * SIDE)])
    frame["scanner"] = np.where(rng.random(rows) < 0.5, "A", "B")
    frame["label"] = labels.astype(str)
    return frame


@pytest.fixture
def textbook_csv(tmp_path):
    path = tmp_path / "pixels.csv"
    pixels().to_csv(path, index=False)
    return path


def _cli(capsys, *args) -> tuple[int, dict, str]:
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err


def test_textbook_classifier_from_the_cli_and_every_view(textbook_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RISKBOARD_FAIRNESS_MIN_GROUP", "5")  # 45 test rows: groups of about 22 are ranked
    code, trained, err = _cli(capsys, "train", str(textbook_csv), "--target", "label", "--positive", "7",
                              "--sensitive", "scanner", *TEXTBOOK)
    assert code == 0, err
    assert len(trained["features"]) == 400 + 1  # the inner 20 x 20 pixels and the scanner; the border left out
    constant = [line for line in err.splitlines() if "constant or empty" in line]
    assert constant == ["warning: left out of the features: 384 columns are constant or empty, so they carry no "
                        "information: 'px0', 'px1', 'px2', 'px3', 'px4' and 379 more (name columns with --features "
                        "to use them)"]
    assert len(err.splitlines()) < 10
    metrics = trained["metrics"]
    assert metrics["accuracy"] >= 0.9 and metrics["macro_f1"] >= 0.9 and metrics["macro_roc_auc"] >= 0.97
    caution = trained["caution"]
    assert caution is None or caution["cause"] in ("none_found", "duplicates")  # no pixel gives the class away
    run_id = trained["run_id"]
    runs = RunStore(tmp_path / "riskboard-home")
    evaluation = json.loads((runs.artifact_dir(run_id) / "evaluation.json").read_text())
    assert len(evaluation["confusion"]["matrix"]) == CLASSES and len(evaluation["per_class"]) == CLASSES
    assert sum(map(sum, evaluation["confusion"]["matrix"])) == metrics["test_rows"]
    assert runs.get(run_id).config["solver"] == "minibatch" and runs.get(run_id).config["optimizer"] == "sgd"

    code, explained, err = _cli(capsys, "explain", run_id, "--rows", "40", "--background", "20", "--class", "3")
    assert code == 0, err
    assert explained["output"] == "logit of '3'" and explained["additivity_max_error"] < 1e-3
    assert {item["feature"] for item in explained["importance"]} <= set(trained["features"])

    code, fair, err = _cli(capsys, "fairness", run_id, "--sensitive", "scanner", "--class", "3", "--resamples", "50")
    assert code == 0, err
    assert fair["class"] == "3" and {g["group"] for g in fair["groups"]} == {"A", "B"}
    worst = fair["worst_class"]["scanner"]["demographic_parity_difference"]
    assert worst["class"] in [str(k) for k in range(CLASSES)] and worst["value"] >= 0

    code, checked, err = _cli(capsys, "check", run_id, "--min-auc", "0.5", "--class", "3")
    assert code == 0, err
    assert checked["class"] == "3" and len(checked["classes"]["per_class"]) == CLASSES
    code, _, err = _cli(capsys, "check", run_id, "--min-auc", "0.5", "--class", "eleven")
    assert code == 2 and "'eleven' is not a class of this run" in err

    out = tmp_path / "card.html"
    assert main(["report", run_id, "--out", str(out), "--class", "3"]) == 0
    html = out.read_text()
    assert "Every class" in html and "covers class 3 against the other 9" in html


def test_textbook_classifier_from_the_train_page(riskboard_home):
    store = DatasetStore(riskboard_home)
    meta = store.add(pixels().to_csv(index=False).encode(), "pixels.csv")
    features = tuple(f"px{i}" for i in range(SIDE * SIDE))
    spec = DatasetSpec(dataset_id=meta.id, target="label", positive_class="7", features=features,
                       sensitive=(SensitiveColumn("scanner"),), name="pixels")
    store.save_spec(spec)
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    at.radio[0].set_value("logistic")
    at.selectbox(key="train-solver").set_value("minibatch")
    next(s for s in at.selectbox if s.label == "Optimizer").set_value("sgd")
    at.number_input[1].set_value(8)  # epochs
    next(n for n in at.number_input if n.label == "Learning rate").set_value(0.05)
    at.number_input(key="train-min-steps").set_value(0)
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, at.exception
    runs = RunStore(riskboard_home)
    [record] = runs.list()
    assert record.config["model"] == "logistic" and record.config["optimizer"] == "sgd"
    final = jobs.wait_for(runs, record.id, timeout_s=240)
    assert final.status == SUCCEEDED, final.error
    assert final.metrics["accuracy"] >= 0.9

    again = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120)
    again.query_params["run"] = record.id
    again.run()
    assert not again.exception, again.exception
    tables = [t.value for t in again.dataframe]
    per_class = next(t for t in tables if "support" in t.columns)
    assert per_class["class"].tolist()[:CLASSES] == [str(k) for k in range(CLASSES)]
    labels = {m.label for m in again.metric}
    assert {"Macro F1", "Weighted ROC AUC"} <= labels
    assert not [w for w in again.warning if re.search("too good to be true", w.value, re.I)]
