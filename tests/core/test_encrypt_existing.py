"""Encrypting a workspace used before a key was set: the app and command line warn, ``keys encrypt-workspace``
seals every row-level file in place (no plaintext copy left, the old blocks zeroed) and resumes after a crash."""

from __future__ import annotations

import json
import os

from core.cli import main
from core.data.encrypt_existing import plaintext_files
from core.data.store import DatasetStore
from core.security.at_rest import run_key_id, seal_bytes
from tests.core.test_encryption import KEY, TOKEN, _add, _files_with, _frame, _train


def test_encrypt_workspace_seals_what_was_written_before_the_key(riskboard_home, monkeypatch, tmp_path, capsys):
    _, meta, spec = _add(riskboard_home, 300)  # no key yet: all of this is plaintext
    runs, run_id = _train(riskboard_home, meta, spec)
    data_path = riskboard_home / "datasets" / meta.id / "data.parquet"
    old_blocks = tmp_path / "old-inode.parquet"
    os.link(data_path, old_blocks)  # a second name for the plaintext's inode: what stays on disk after a rename
    stale = riskboard_home / "runs" / run_id / ".tmp-scores.parquet-1234"
    stale.write_bytes(TOKEN.encode())  # a temp file a crash left behind
    os.utime(stale, (1, 1))
    assert _files_with(riskboard_home, TOKEN.encode())

    monkeypatch.setenv("RISKBOARD_DATA_KEY", KEY)
    assert main(["datasets", "list", "--json"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "keys encrypt-workspace" in err
    assert main(["keys", "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plaintext_files"] == len(plaintext_files(riskboard_home)) > 5

    arts = runs.artifacts(run_id)  # an earlier sweep stopped after sealing this file, before re-listing it
    interrupted = "split.npz" if arts.has("split.npz") else arts.stored_names()[0]
    path = arts.folder / interrupted
    path.write_bytes(seal_bytes(riskboard_home, run_key_id(run_id), f"runs/{run_id}/{interrupted}",
                                path.read_bytes()))

    assert main(["keys", "encrypt-workspace", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["left"] == [] and body["removed"] == 1 and body["sealed"] > 5
    assert _files_with(riskboard_home, TOKEN.encode()) == []
    assert TOKEN.encode() not in old_blocks.read_bytes() and not old_blocks.read_bytes().strip(b"\0")
    assert plaintext_files(riskboard_home) == []
    for name in arts.manifest():  # every file still opens and matches its (re-)listing
        arts.read_bytes(name)
    loaded = DatasetStore(riskboard_home).load(meta.id)
    assert loaded["segment"].eq(TOKEN).sum() == _frame(300)["segment"].eq(TOKEN).sum()

    assert main(["keys", "encrypt-workspace", "--json"]) == 0  # again: nothing left to do
    assert json.loads(capsys.readouterr().out)["sealed"] == 0
    assert main(["datasets", "list"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["log", "--action", "workspace_encrypted", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["entries"]) == 2


def test_encrypt_workspace_needs_a_key(riskboard_home, capsys):
    _add(riskboard_home, 300)
    assert main(["keys", "encrypt-workspace"]) == 2
    assert "no data key is set" in capsys.readouterr().err
