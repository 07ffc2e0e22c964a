"""Settings from ``RISKBOARD_*`` environment variables, with documented defaults.

Settings are read each time :func:`get_settings` is called (it is cheap), so tests and the CLI can change the
environment without reloading modules.

| variable | default | meaning |
| --- | --- | --- |
| ``RISKBOARD_HOME`` | ``.riskboard`` in the working directory | workspace: datasets, specs, runs |
| ``RISKBOARD_MAX_UPLOAD_MB`` | 200 | largest file accepted, in MB |
| ``RISKBOARD_MAX_ROWS`` | 2,000,000 | most data rows in one table |
| ``RISKBOARD_MAX_COLUMNS`` | 1024 | most columns in one table (memory is checked as ``RISKBOARD_MAX_MATRIX_MB``) |
| ``RISKBOARD_DEVICE`` | (auto) | ``cuda``, ``mps`` or ``cpu`` to override the automatic choice |
| ``RISKBOARD_MAX_JOBS`` | 1 | training jobs that may run at the same time; more wait in a queue |
| ``RISKBOARD_HEARTBEAT_TIMEOUT_S`` | 60 | a running job silent this long is marked failed |
| ``RISKBOARD_MAX_MATRIX_MB`` | 4096 | largest encoded training matrix (rows x encoded columns x 4 bytes) |
| ``RISKBOARD_MAX_MODEL_MB`` | 100 | largest uploaded model file (ONNX) accepted, in MB |
| ``RISKBOARD_FAIRNESS_RESAMPLES`` | 1000 | bootstrap resamples behind every fairness interval |
| ``RISKBOARD_FAIRNESS_MIN_GROUP`` | 30 | groups with fewer test rows are flagged "not enough data" and not ranked |
| ``RISKBOARD_FAIRNESS_MAX_CI_WIDTH`` | 0.4 | a group with a wider 95% selection-rate interval is "not enough data" |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

DEVICE_CHOICES = ("cuda", "mps", "cpu")


@dataclass(frozen=True)
class Settings:
    home: Path
    max_upload_mb: float
    max_rows: int
    max_columns: int
    device: str | None
    max_jobs: int
    heartbeat_timeout_s: float
    max_matrix_mb: float
    fairness_resamples: int = 1000
    fairness_min_group: int = 30
    fairness_max_ci_width: float = 0.4
    max_model_mb: float = 100.0

    @property
    def max_model_bytes(self) -> int:
        return int(self.max_model_mb * 1024 * 1024)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def _number(name: str, default: float, *, kind: type = int, minimum: float = 1) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return kind(default)
    try:
        value = kind(raw.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; unset it or give a number such as {default}.") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is too small; give a value of at least {minimum}.")
    return value


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    device = os.environ.get("RISKBOARD_DEVICE", "").strip().lower() or None
    if device is not None and device not in DEVICE_CHOICES:
        raise ConfigError(f"RISKBOARD_DEVICE={device!r} is not one of {', '.join(DEVICE_CHOICES)}; unset it to choose "
                          "automatically.")
    home = Path(os.environ.get("RISKBOARD_HOME", "").strip() or ".riskboard").expanduser()
    return Settings(
        home=home.resolve(),
        max_upload_mb=_number("RISKBOARD_MAX_UPLOAD_MB", 200, kind=float, minimum=0.001),
        max_rows=_number("RISKBOARD_MAX_ROWS", 2_000_000),
        max_columns=_number("RISKBOARD_MAX_COLUMNS", 1024),
        device=device,
        max_jobs=_number("RISKBOARD_MAX_JOBS", 1),
        heartbeat_timeout_s=_number("RISKBOARD_HEARTBEAT_TIMEOUT_S", 60, kind=float, minimum=1),
        max_matrix_mb=_number("RISKBOARD_MAX_MATRIX_MB", 4096, kind=float, minimum=1),
        fairness_resamples=_number("RISKBOARD_FAIRNESS_RESAMPLES", 1000, minimum=10),
        fairness_min_group=_number("RISKBOARD_FAIRNESS_MIN_GROUP", 30),
        fairness_max_ci_width=_number("RISKBOARD_FAIRNESS_MAX_CI_WIDTH", 0.4, kind=float, minimum=0.01),
        max_model_mb=_number("RISKBOARD_MAX_MODEL_MB", 100, kind=float, minimum=0.001),
    )
