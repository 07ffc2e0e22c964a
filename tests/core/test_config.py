"""Settings come from RISKBOARD_* variables with documented defaults; bad values are clear errors."""

from __future__ import annotations

import pytest

from core.config import get_settings
from core.errors import ConfigError


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("RISKBOARD_HOME")
    monkeypatch.chdir(tmp_path)
    settings = get_settings()
    assert settings.home == (tmp_path / ".riskboard").resolve()
    assert (settings.max_upload_mb, settings.max_rows, settings.max_columns) == (200, 2_000_000, 1024)
    assert settings.max_upload_bytes == 200 * 1024 * 1024
    assert settings.device is None
    assert settings.max_jobs == 1


def test_overrides(monkeypatch):
    monkeypatch.setenv("RISKBOARD_MAX_UPLOAD_MB", "0.5")
    monkeypatch.setenv("RISKBOARD_MAX_ROWS", "1_000")
    monkeypatch.setenv("RISKBOARD_DEVICE", "CPU")
    settings = get_settings()
    assert settings.max_upload_bytes == 512 * 1024
    assert settings.max_rows == 1000
    assert settings.device == "cpu"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("RISKBOARD_MAX_ROWS", "many", "not a number"),
    ("RISKBOARD_MAX_COLUMNS", "0", "too small"),
    ("RISKBOARD_DEVICE", "tpu", "not one of cuda, mps, cpu"),
])
def test_bad_values_raise_config_error(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        get_settings()
