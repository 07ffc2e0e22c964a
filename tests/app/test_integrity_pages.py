"""Pages on a damaged or read-only workspace: the message names the problem and the page keeps working."""

from __future__ import annotations

import errno
import json
import os
import subprocess

import pytest

from core.cli import main
from core.data.demo import synthetic_biased
from core.data.store import DatasetStore
from core.training import artifacts
from tests.app._apptest import open_page, plain
from tests.conftest import ROOT

TRAIN = str(ROOT / "pages" / "train.py")
DATA = str(ROOT / "pages" / "data.py")


@pytest.fixture
def trained(tmp_path, capsys) -> str:
    path = tmp_path / "loans.csv"
    synthetic_biased(400, seed=4).to_csv(path, index=False)
    assert main(["train", str(path), "--target", "approved", "--epochs", "2", "--model", "logistic", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


def test_train_page_names_a_damaged_evaluation(riskboard_home, trained):
    path = riskboard_home / "runs" / trained / artifacts.EVALUATION_JSON
    path.write_text("{not json")
    at = open_page(TRAIN, run=trained)
    errors = [plain(e.value) for e in at.error]
    assert any("this run's files are damaged: evaluation.json; retrain the run or delete it" in e for e in errors)
    assert not any("try again" in e for e in errors)
    assert at.metric  # the rest of the run (its metrics from the store) still shows


def test_train_page_names_a_missing_run_folder(riskboard_home, trained):
    import shutil

    shutil.rmtree(riskboard_home / "runs" / trained)
    at = open_page(TRAIN, run=trained)
    assert any(f"the files of run {trained} are missing" in plain(e.value) for e in at.error)


def test_train_page_on_a_read_only_workspace(riskboard_home, trained):
    ok = subprocess.run(["mount", "--bind", str(riskboard_home), str(riskboard_home)], capture_output=True)
    if ok.returncode != 0:
        pytest.skip("a read-only bind mount needs root and mount rights here")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(riskboard_home)], capture_output=True).returncode:
            pytest.skip("could not remount read-only")
        with pytest.raises(OSError):
            (riskboard_home / "probe").write_text("x")
        at = open_page(TRAIN, run=trained)
        assert any(trained in r for r in at.dataframe[0].value["run"].tolist())  # history still listed
        assert at.metric
    finally:
        subprocess.run(["umount", "-l", str(riskboard_home)], capture_output=True)


def test_data_page_delete_failure_is_shown_and_loses_nothing(riskboard_home, monkeypatch):
    store = DatasetStore(riskboard_home)
    meta = store.add(synthetic_biased(300, seed=2).to_csv(index=False).encode(), "loans.csv")
    at = open_page(DATA, session={"dataset_id": meta.id})
    real_replace = os.replace

    def refuse(src, dst):
        if str(src).endswith(meta.id):
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real_replace(src, dst)

    monkeypatch.setattr("core.data.store.os.replace", refuse)
    next(b for b in at.button if b.label == "Delete this dataset").click().run()
    assert not at.exception, at.exception
    assert any("could not be deleted" in plain(e.value) for e in at.error)
    assert [m.id for m in store.list()] == [meta.id]
