"""Erasure: ``datasets delete --with-runs`` crypto-shreds, removes and logs; what cannot be removed is named (exit 2)
and ``datasets purge`` finishes it."""

from __future__ import annotations

import base64
import json
import shutil

import pytest

from core import jobs
from core.cli import main
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.errors import EncryptionError
from core.runs import SUCCEEDED, RunStore
from core.security import activity
from core.security.at_rest import open_bytes
from core.training.config import TrainConfig
from core.training.pipeline import TASK

KEY = base64.b64encode(bytes(range(32))).decode()


def _dataset_and_run(home):
    store = DatasetStore(home)
    meta = store.add(synthetic_biased(300, seed=3).to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=("income_k", "debt_ratio", "segment", "group"), sensitive=(SensitiveColumn("group"),))
    store.save_spec(spec)
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(),
                             config=TrainConfig(epochs=1, batch_size=64).to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED
    return meta, run_id


def _error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_delete_with_runs_shreds_first_and_copies_become_unreadable(riskboard_home, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RISKBOARD_DATA_KEY", KEY)
    meta, run_id = _dataset_and_run(riskboard_home)
    copy = tmp_path / "backup.parquet"  # a copy someone made before the delete
    shutil.copyfile(riskboard_home / "datasets" / meta.id / "data.parquet", copy)
    assert main(["datasets", "delete", "--id", meta.id, "--with-runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": meta.id, "runs_deleted": [run_id]}
    assert DatasetStore(riskboard_home).list() == [] and RunStore(riskboard_home).list() == []
    assert not (riskboard_home / "runs" / run_id).exists() and not list(riskboard_home.glob(".trash-*"))
    assert json.loads((riskboard_home / "keyring.json").read_text())["keys"] == {}
    with pytest.raises(EncryptionError, match="its data key was destroyed"):
        open_bytes(riskboard_home, f"datasets/{meta.id}/data.parquet", copy.read_bytes())
    deleted = activity.entries(riskboard_home, action="dataset_deleted")
    assert len(deleted) == 1 and deleted[0].details["key_destroyed"] is True
    assert [e.subject for e in activity.entries(riskboard_home, action="run_deleted")] == [run_id]
    assert activity.verify(riskboard_home).ok


def test_delete_without_runs_keeps_them_and_says_so(riskboard_home, capsys):
    meta, run_id = _dataset_and_run(riskboard_home)
    assert main(["datasets", "delete", "--id", meta.id]) == 0
    captured = capsys.readouterr()
    assert "1 runs trained on it keep their files" in captured.err
    assert [r.id for r in RunStore(riskboard_home).list()] == [run_id]


def test_leftovers_are_named_with_exit_2_and_purge_finishes(riskboard_home, monkeypatch, capsys):
    meta, _ = _dataset_and_run(riskboard_home)
    real_rmtree = shutil.rmtree
    monkeypatch.setattr("core.security.erasure.shutil.rmtree", lambda *a, **k: None)  # the file system refuses
    assert main(["datasets", "delete", "--id", meta.id]) == 2
    line = _error_line(capsys.readouterr().err)
    assert f"dataset {meta.id[:12]} is deleted, but these files could not be removed" in line
    assert "data.parquet" in line and "datasets purge" in line
    assert DatasetStore(riskboard_home).list() == []  # gone from every list at once
    assert main(["datasets", "purge"]) == 2  # still refused: named again
    assert "data.parquet" in _error_line(capsys.readouterr().err)
    monkeypatch.setattr("core.security.erasure.shutil.rmtree", real_rmtree)
    assert main(["datasets", "purge", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"purged": True}
    assert not list(riskboard_home.glob(".trash-*"))
    assert activity.entries(riskboard_home, action="dataset_deleted")[0].details["leftovers"] > 0
