"""Every page warns while a keyed workspace still holds row-level files written before the key was set."""

from __future__ import annotations

import base64

import streamlit as st
from streamlit.testing.v1 import AppTest

from core.data.encrypt_existing import encrypt_workspace
from core.data.store import DatasetStore
from tests.app._apptest import plain
from tests.conftest import ROOT

KEY = base64.b64encode(bytes(range(32))).decode()


def _warnings() -> list[str]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return [plain(w.value) for w in at.warning]


def test_a_keyed_workspace_with_plaintext_files_warns_until_they_are_sealed(riskboard_home, monkeypatch):
    DatasetStore(riskboard_home).add(b"a,b\n1,x\n2,y\n3,z\n", "small.csv")  # before any key
    monkeypatch.setenv("RISKBOARD_DATA_KEY", KEY)
    assert any("still plaintext on disk" in w and "keys encrypt-workspace" in w for w in _warnings())
    encrypt_workspace(riskboard_home)
    st.cache_data.clear()  # the scan is cached for a minute; a restart clears it too
    assert not any("encrypt-workspace" in w for w in _warnings())
