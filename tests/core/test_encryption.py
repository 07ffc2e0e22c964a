"""Encryption at rest: a full encrypted pass leaves no cell value on disk; wrong or missing keys and tampered or
swapped files are one ``error:`` line naming the key fingerprint or the file; rotation re-wraps without rewriting."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from core import jobs
from core.cli import main
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.errors import EncryptionError
from core.explain import explain_run
from core.fairness import run_fairness
from core.runs import SUCCEEDED, RunStore
from core.security.crypto import SealError, fingerprint, open_sealed, seal
from core.training.artifacts import TRAINED_RUN_FILES
from core.training.config import TrainConfig
from core.training.pipeline import TASK

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER = base64.b64encode(bytes(range(1, 33))).decode()
TOKEN = "Quokkaville-7731"  # a cell value that must never reach the disk in plaintext


def _frame(n: int = 400):
    frame = synthetic_biased(n, seed=5)
    frame["segment"] = frame["segment"].map({"retail": TOKEN, "student": "student", "business": "business"})
    return frame


def _add(home: Path, n: int = 400):
    store = DatasetStore(home)
    meta = store.add(_frame(n).to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes",
                       features=("income_k", "debt_ratio", "tenure_years", "segment", "group"),
                       sensitive=(SensitiveColumn("group"),))
    store.save_spec(spec)
    return store, meta, spec


def _train(home: Path, meta, spec) -> tuple[RunStore, str]:
    runs = RunStore(home)
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(),
                             config=TrainConfig(epochs=2, batch_size=64).to_dict(), task=TASK)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED, runs.get(run_id).error
    return runs, run_id


def _files_with(home: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_seal_round_trip_and_binding():
    key = bytes(32)
    data = bytes(range(256)) * 20
    sealed = seal(data, key, "dataset-x", "datasets/x/data.parquet", chunk=1000)
    assert open_sealed(sealed, key, "datasets/x/data.parquet") == data
    with pytest.raises(SealError):  # the same bytes at another path (a swapped file)
        open_sealed(sealed, key, "datasets/y/data.parquet")
    with pytest.raises(SealError):  # cut after a whole chunk
        open_sealed(sealed[: len(sealed) - (len(data) % 1000 + 28)], key, "datasets/x/data.parquet")
    flipped = bytearray(sealed)
    flipped[-40] ^= 1
    with pytest.raises(SealError):
        open_sealed(bytes(flipped), key, "datasets/x/data.parquet")
    assert open_sealed(seal(b"", key, "run-r", "f", chunk=8), key, "f") == b""


def test_a_plain_workspace_keeps_the_value_findable(riskboard_home):
    _add(riskboard_home)  # the control: without a key the scan below does find the value
    assert _files_with(riskboard_home, TOKEN.encode())


def test_full_encrypted_pass_leaves_no_cell_value_on_disk(riskboard_home, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RISKBOARD_DATA_KEY", KEY)
    store, meta, spec = _add(riskboard_home)
    runs, run_id = _train(riskboard_home, meta, spec)
    explained = explain_run(runs, run_id, rows=40, background=20)
    assert TOKEN in set(explained.data["segment"].astype(str))  # the explained rows hold the value, sealed
    run_fairness(runs, run_id, ["group"], resamples=20)
    assert main(["report", run_id, "--out", str(tmp_path / "card.html")]) == 0
    assert store.load(meta.id)["segment"].eq(TOKEN).sum() == _frame()["segment"].eq(TOKEN).sum()
    assert _files_with(riskboard_home, TOKEN.encode()) == []
    listed = runs.artifacts(run_id).manifest()
    assert set(TRAINED_RUN_FILES) <= set(listed)
    assert len(listed) > len(TRAINED_RUN_FILES)  # and the cached SHAP values, explained rows and fairness
    for name in listed:
        assert (runs.artifacts(run_id).folder / name).read_bytes().startswith(b"RBSEAL1\n"), name
    assert (riskboard_home / "datasets" / meta.id / "data.parquet").read_bytes().startswith(b"RBSEAL1\n")
    ring = json.loads((riskboard_home / "keyring.json").read_text())
    assert ring["master_fingerprint"] == fingerprint(base64.b64decode(KEY))
    assert sorted(ring["keys"]) == sorted([f"dataset-{meta.id}", f"run-{run_id}"])
    capsys.readouterr()


def test_wrong_and_missing_key_are_one_error_line_naming_the_fingerprint(riskboard_home, monkeypatch, capsys):
    monkeypatch.setenv("RISKBOARD_DATA_KEY", KEY)
    _, meta, _ = _add(riskboard_home)
    before = sorted(p.read_bytes() for p in riskboard_home.rglob("*") if p.is_file() and "datasets" in p.parts)
    expected = fingerprint(base64.b64decode(KEY))
    monkeypatch.setenv("RISKBOARD_DATA_KEY", OTHER)
    assert main(["datasets", "list"]) == 2
    line = _error_line(capsys.readouterr().err)
    assert expected in line and fingerprint(base64.b64decode(OTHER)) in line
    assert main(["datasets", "add", "-"]) == 2  # refused before anything is written
    capsys.readouterr()
    monkeypatch.delenv("RISKBOARD_DATA_KEY")
    assert main(["datasets", "list"]) == 2
    assert f"encrypted (master key fingerprint {expected})" in _error_line(capsys.readouterr().err)
    with pytest.raises(EncryptionError, match="this workspace is encrypted"):
        DatasetStore(riskboard_home).add(b"a,b\n1,2\n", "x.csv")
    after = sorted(p.read_bytes() for p in riskboard_home.rglob("*") if p.is_file() and "datasets" in p.parts)
    assert before == after
    monkeypatch.setenv("RISKBOARD_DATA_KEY", "not base64!")
    assert main(["datasets", "list"]) == 2
    assert "RISKBOARD_DATA_KEY is not a data key" in _error_line(capsys.readouterr().err)
    assert meta.id


def test_tampered_and_swapped_files_are_named(riskboard_home, monkeypatch, capsys):
    monkeypatch.setenv("RISKBOARD_DATA_KEY", KEY)
    _, first, _ = _add(riskboard_home, 300)
    second = DatasetStore(riskboard_home).add(_frame(310).to_csv(index=False).encode(), "other.csv")
    path = riskboard_home / "datasets" / first.id / "data.parquet"
    original = path.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    path.write_bytes(bytes(flipped))
    with pytest.raises(EncryptionError, match=rf"datasets/{first.id}/data.parquet failed its integrity check"):
        DatasetStore(riskboard_home).load(first.id)
    shutil.copyfile(riskboard_home / "datasets" / second.id / "data.parquet", path)  # another dataset's file
    with pytest.raises(EncryptionError, match="altered, truncated or swapped"):
        DatasetStore(riskboard_home).load(first.id)
    path.write_bytes(original)
    assert len(DatasetStore(riskboard_home).load(first.id)) == 300


def test_a_run_file_moved_between_runs_with_its_manifest_does_not_open(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_DATA_KEY", KEY)
    _, meta, spec = _add(riskboard_home, 300)
    runs, first = _train(riskboard_home, meta, spec)
    _, second = _train(riskboard_home, meta, spec)
    source, target = runs.artifacts(first), runs.artifacts(second)
    data = (source.folder / "model.safetensors").read_bytes()
    (target.folder / "model.safetensors").write_bytes(data)
    manifest = json.loads((target.folder / "manifest.json").read_text())
    manifest["files"]["model.safetensors"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (target.folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EncryptionError, match=f"runs/{second}/model.safetensors failed its integrity check"):
        target.read_bytes("model.safetensors")


def test_rotation_rewraps_without_rewriting_data(riskboard_home, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RISKBOARD_DATA_KEY", KEY)
    _, meta, _ = _add(riskboard_home, 300)
    data_path = riskboard_home / "datasets" / meta.id / "data.parquet"
    before = data_path.read_bytes()
    new_file = tmp_path / "new.key"
    assert main(["keys", "new"]) == 0
    new_file.write_text(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["keys", "rotate", "--new-key-file", str(new_file), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["rotated"] == 1 and body["from"] == fingerprint(base64.b64decode(KEY))
    assert data_path.read_bytes() == before
    assert main(["datasets", "list"]) == 2  # the old key no longer opens the workspace
    assert body["to"] in _error_line(capsys.readouterr().err)
    monkeypatch.delenv("RISKBOARD_DATA_KEY")
    monkeypatch.setenv("RISKBOARD_DATA_KEY_FILE", str(new_file))
    assert len(DatasetStore(riskboard_home).load(meta.id)) == 300
    assert main(["log", "--action", "key_rotated", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["entries"]) == 1
