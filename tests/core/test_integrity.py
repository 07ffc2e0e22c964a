"""Workspace integrity: nothing silently lost, damaged files named, a read-only or full workspace is one clear error.

Root ignores ``chmod``, so a read-only workspace is a real read-only bind mount (skipped where ``mount`` is not
allowed), and a full disk is an ``OSError(ENOSPC)`` raised from inside the write helper.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import jsonsafe, storage
from core.cli import main
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.errors import ArtifactError, DatasetNotFoundError, SpecError, WorkspaceError
from core.figures.evaluation import roc_figure
from core.models.split import SplitIndices
from core.runs import SUCCEEDED, RunArtifacts, RunStore
from core.safety import formula_safe_frame
from core.training import artifacts
from core.training.evaluate import evaluate


def _mount_read_only(folder: Path) -> bool:
    result = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if result.returncode != 0:
        return False
    result = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True)
    if result.returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        return False
    return True


@pytest.fixture
def read_only(riskboard_home: Path):
    """Call with nothing: makes the test's workspace a read-only bind mount until the test ends."""
    mounted: list[Path] = []

    def make() -> Path:
        if not _mount_read_only(riskboard_home):
            pytest.skip("a read-only bind mount needs root and mount rights here")
        mounted.append(riskboard_home)
        with pytest.raises(OSError):
            (riskboard_home / "probe").write_text("x")
        return riskboard_home

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _dataset_with_spec(home: Path) -> tuple[DatasetStore, str, str]:
    store = DatasetStore(home)
    meta = store.add(synthetic_biased(300, seed=1).to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=("income_k", "debt_ratio", "segment"), sensitive=(SensitiveColumn("group"),),
                       name="loans")
    return store, meta.id, store.save_spec(spec)


def _fake_runs(home: Path) -> tuple[RunStore, str, str]:
    runs = RunStore(home)
    done = runs.create_run(kind="train", dataset_id="d" * 64, spec={}, config={}, task="m:f")
    runs.finish(done, SUCCEEDED, metrics={"roc_auc": 0.8})
    queued = runs.create_run(kind="train", dataset_id="d" * 64, spec={}, config={}, task="m:f")
    return runs, done, queued


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err
    return lines[0]


# -- deleting a dataset ------------------------------------------------------------------------------------------


def test_delete_that_cannot_move_a_spec_restores_everything(riskboard_home, monkeypatch, capsys):
    store, dataset_id, spec_id = _dataset_with_spec(riskboard_home)
    real_replace = os.replace

    def refuse_specs(src, dst):
        if str(src).endswith(".json") and "specs" in str(src):
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real_replace(src, dst)

    monkeypatch.setattr("core.data.store.os.replace", refuse_specs)
    assert main(["datasets", "delete", "--id", dataset_id]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"dataset {dataset_id[:12]} could not be deleted" in line and "Nothing was removed" in line
    assert [m.id for m in store.list()] == [dataset_id]
    assert [s.spec_id for s in store.list_specs(dataset_id)] == [spec_id]
    assert store.load(dataset_id).shape == (300, 7)
    assert not list(riskboard_home.glob(".trash-*"))


def test_delete_removes_dataset_and_specs_together(riskboard_home, capsys):
    store, dataset_id, _ = _dataset_with_spec(riskboard_home)
    assert main(["datasets", "delete", "--id", dataset_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": dataset_id}
    assert store.list() == [] and store.list_specs() == []
    assert not list(riskboard_home.glob(".trash-*"))
    assert main(["datasets", "delete", "--id", dataset_id]) == 2
    assert "not in the store" in _one_error_line(capsys.readouterr().err)


def test_delete_on_a_read_only_workspace_is_refused_and_loses_nothing(riskboard_home, read_only, capsys):
    store, dataset_id, spec_id = _dataset_with_spec(riskboard_home)
    read_only()
    assert main(["datasets", "delete", "--id", dataset_id]) == 2
    assert "could not be deleted" in _one_error_line(capsys.readouterr().err)
    assert [m.id for m in store.list()] == [dataset_id]
    assert [s.spec_id for s in store.list_specs(dataset_id)] == [spec_id]


# -- a workspace that cannot be written --------------------------------------------------------------------------


def test_read_only_workspace_still_lists_and_shows_runs(riskboard_home, read_only, capsys):
    _dataset_with_spec(riskboard_home)
    _, done, queued = _fake_runs(riskboard_home)
    read_only()
    assert main(["runs", "--json"]) == 0
    listed = {r["run_id"] for r in json.loads(capsys.readouterr().out)["runs"]}
    assert listed == {done, queued}
    assert main(["runs", done, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == SUCCEEDED
    assert main(["datasets", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["datasets"]) == 1
    assert main(["cancel", done]) == 2
    assert "already finished" in _one_error_line(capsys.readouterr().err)
    assert main(["cancel", queued]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "cannot be written" in line and "RISKBOARD_HOME" in line


def test_an_empty_read_only_workspace_lists_nothing(riskboard_home, read_only, capsys):
    riskboard_home.mkdir(parents=True)
    read_only()
    assert main(["runs", "--json"]) == 0 and json.loads(capsys.readouterr().out) == {"runs": []}
    assert main(["datasets", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"datasets": []}
    assert not any(riskboard_home.iterdir())


def test_opening_the_run_store_writes_nothing(tmp_path):
    home = tmp_path / "never-written"
    store = RunStore(home)
    assert store.list() == [] and not home.exists()
    with pytest.raises(Exception, match="no run"):
        store.get("20200101-000000-abcdef")
    assert not home.exists()


def test_a_full_disk_is_one_clear_error_and_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "evaluation.json"
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.storage.os.fsync", full)
    with pytest.raises(WorkspaceError, match="is full; free some space"):
        storage.atomic_write_bytes(target, b"new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluation.json"]


def test_a_full_disk_during_upload_is_exit_2(tmp_path, monkeypatch, capsys):
    path = tmp_path / "loans.csv"
    synthetic_biased(100, seed=3).to_csv(path, index=False)
    monkeypatch.setattr("core.storage.os.fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    assert main(["datasets", "add", str(path)]) == 2
    assert "is full" in _one_error_line(capsys.readouterr().err)
    assert DatasetStore().list() == []


def test_files_get_the_process_umask_so_the_team_can_read_them(tmp_path):
    old = os.umask(0o022)
    try:
        arts = RunArtifacts(tmp_path / "run")
        arts.write_json("evaluation.json", {"metrics": {}})
        store = DatasetStore(tmp_path / "home")
        meta = store.add(b"a,b\n1,x\n2,y\n3,z\n", "t.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE((arts.folder / "evaluation.json").stat().st_mode) == 0o644
    folder = store.home / "datasets" / meta.id
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "meta.json").stat().st_mode) == 0o644


# -- atomic artifacts and the manifest ---------------------------------------------------------------------------


def test_a_crash_between_temp_write_and_rename_keeps_the_old_file(tmp_path, monkeypatch):
    arts = RunArtifacts(tmp_path / "run")
    arts.write_json("evaluation.json", {"metrics": {"roc_auc": 0.8}})

    def crash(src, dst):
        raise KeyboardInterrupt  # the process dies after writing the temp file, before the rename

    monkeypatch.setattr("core.storage.os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        arts.write_json("evaluation.json", {"metrics": {"roc_auc": 0.1}})
    monkeypatch.undo()
    assert arts.read_json("evaluation.json") == {"metrics": {"roc_auc": 0.8}}
    assert sorted(p.name for p in arts.folder.iterdir() if not p.name.startswith(".manifest")) == [
        "evaluation.json", "manifest.json"]


def test_a_crash_after_the_rename_but_before_the_manifest_reads_as_damaged(tmp_path, monkeypatch):
    arts = RunArtifacts(tmp_path / "run")
    arts.write_json("evaluation.json", {"metrics": {"roc_auc": 0.8}})
    monkeypatch.setattr(RunArtifacts, "_record", lambda self, name, entry: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        arts.write_json("evaluation.json", {"metrics": {"roc_auc": 0.1}})
    monkeypatch.undo()
    with pytest.raises(ArtifactError, match=r"this run's files are damaged: evaluation\.json; retrain the run or "
                                            "delete it"):
        arts.read_json("evaluation.json")
    assert arts.damaged() == ["evaluation.json"]


def test_manifest_lists_name_size_and_sha256(tmp_path):
    arts = RunArtifacts(tmp_path / "run")
    arts.write_bytes("model.safetensors", b"abc")
    manifest = json.loads((arts.folder / "manifest.json").read_text())
    assert manifest["files"] == {"model.safetensors": {
        "size": 3, "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}}
    arts.discard("model.safetensors")
    assert not arts.has("model.safetensors") and json.loads((arts.folder / "manifest.json").read_text())["files"] == {}


def test_json_artifacts_are_strict_json(tmp_path):
    arts = RunArtifacts(tmp_path / "run")
    arts.write_json("metrics.json", {"auc": float("nan"), "inf": np.float64("inf"), "n": np.int64(3),
                                     "arr": np.array([1.0, np.nan])})
    text = (arts.folder / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"auc": None, "inf": None, "n": 3, "arr": [1.0, None]}
    assert jsonsafe.dumps({"x": float("-inf")}) == '{"x": null}'


def test_an_overlapping_split_file_is_refused(tmp_path):
    arts = RunArtifacts(tmp_path / "run")
    arts.write_json("split.json", {"train": [0, 1, 2], "val": [3], "test": [2, 4]})
    with pytest.raises(ArtifactError, match=r"damaged: split\.json"):
        artifacts.load_split(arts)
    arts.write_json("split.json", {"train": [2, 0, 1], "val": [3], "test": [4]})
    split = artifacts.load_split(arts)
    assert isinstance(split, SplitIndices) and split.train.tolist() == [0, 1, 2]


# -- damaged runs through the CLI --------------------------------------------------------------------------------


@pytest.fixture
def trained_run(tmp_path, capsys) -> tuple[RunStore, str]:
    path = tmp_path / "loans.csv"
    synthetic_biased(400, seed=4).to_csv(path, index=False)
    assert main(["train", str(path), "--target", "approved", "--epochs", "2", "--model", "logistic", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    return RunStore(os.environ["RISKBOARD_HOME"]), run_id


def test_a_finished_run_has_a_complete_manifest(trained_run):
    store, run_id = trained_run
    arts = store.artifacts(run_id)
    assert set(artifacts.TRAINED_RUN_FILES) <= set(arts.manifest())
    assert arts.damaged(artifacts.TRAINED_RUN_FILES) == []


def test_a_truncated_model_is_named_by_the_loader_and_by_runs(trained_run, capsys):
    store, run_id = trained_run
    weights = store.artifacts(run_id).folder / artifacts.MODEL_WEIGHTS
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(ArtifactError, match=r"damaged: model\.safetensors; retrain the run or delete it"):
        artifacts.load_model(store.artifacts(run_id))
    assert main(["runs", run_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == {"state": "damaged", "files": ["model.safetensors"]}
    assert main(["runs", run_id]) == 0
    assert "this run's files are damaged: model.safetensors" in capsys.readouterr().out


def test_a_corrupt_evaluation_is_an_artifact_error(trained_run, capsys):
    store, run_id = trained_run
    path = store.artifacts(run_id).folder / artifacts.EVALUATION_JSON
    path.write_text(path.read_text()[:-20])
    with pytest.raises(ArtifactError, match=r"damaged: evaluation\.json"):
        artifacts.load_evaluation(store.artifacts(run_id))
    assert main(["runs", run_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"]["files"] == ["evaluation.json"]


def test_unparseable_files_of_an_old_run_without_manifest_are_still_named(trained_run):
    store, run_id = trained_run
    folder = store.artifacts(run_id).folder
    (folder / "manifest.json").unlink()
    (folder / artifacts.TEST_SCORES).write_bytes(b"PAR1 not really")
    with pytest.raises(ArtifactError, match=r"damaged: test_scores\.parquet"):
        artifacts.load_test_scores(store.artifacts(run_id))


def test_a_run_whose_folder_is_gone_is_reported_missing(trained_run, capsys):
    store, run_id = trained_run
    import shutil

    shutil.rmtree(store.artifacts(run_id).folder)
    with pytest.raises(ArtifactError, match=f"the files of run {run_id} are missing"):
        artifacts.load_evaluation(store.artifacts(run_id))
    assert main(["runs", run_id]) == 0
    out = capsys.readouterr().out
    assert f"the files of run {run_id} are missing" in out and "did not finish" not in out


# -- smaller review findings -------------------------------------------------------------------------------------


def test_colliding_formula_names_are_escaped_and_made_distinct():
    frame = pd.DataFrame([[1, 2, 3]], columns=["=A", "'=A", "b"])
    safe = formula_safe_frame(frame)
    assert list(safe.columns) == ["'=A", "'=A (2)", "b"]


def test_html_class_names_in_a_one_class_note_are_escaped_in_the_figure():
    evaluation = evaluate(np.zeros(30, dtype=int), np.column_stack([np.full(30, 0.7), np.full(30, 0.3)]),
                          positive_index=1, threshold=0.5, class_names=["<b>no</b>", "<img src=x onerror=1>"])
    figure = roc_figure(evaluation.to_dict())
    texts = [a.text for a in figure.layout.annotations]
    assert texts and all("<img" not in t and "<b>no" not in t for t in texts)
    assert any("&lt;" in t for t in texts)


@pytest.mark.parametrize("bad", ["a" * 64 + "\n", " " + "a" * 64, "A" * 64])
def test_dataset_ids_with_a_trailing_newline_are_refused(riskboard_home, bad):
    with pytest.raises(DatasetNotFoundError, match="is not a dataset id"):
        DatasetStore(riskboard_home).meta(bad)


def test_spec_ids_with_a_trailing_newline_are_refused(riskboard_home):
    with pytest.raises(SpecError, match="is not a spec id"):
        DatasetStore(riskboard_home).load_spec("0123456789abcdef\n")
