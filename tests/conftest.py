"""Shared fixtures: every test gets its own throwaway workspace, so no test sees another's datasets or runs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def riskboard_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "riskboard-home"
    monkeypatch.setenv("RISKBOARD_HOME", str(home))
    monkeypatch.setenv("RISKBOARD_EXTRA_TASKS", "tests.core._jobtasks:*")  # the job runner's test tasks
    for name in ("RISKBOARD_MAX_UPLOAD_MB", "RISKBOARD_MAX_ROWS", "RISKBOARD_MAX_COLUMNS", "RISKBOARD_DEVICE",
                 "RISKBOARD_MAX_JOBS", "RISKBOARD_MAX_MATRIX_MB", "RISKBOARD_HEARTBEAT_TIMEOUT_S",
                 "RISKBOARD_MAX_MODEL_MB", "RISKBOARD_DATA_KEY", "RISKBOARD_DATA_KEY_FILE", "RISKBOARD_AUTH",
                 "RISKBOARD_SESSION_IDLE_MINUTES", "RISKBOARD_OIDC_ALLOW", "RISKBOARD_OIDC_EDITORS",
                 "RISKBOARD_EXECUTOR", "RAY_ADDRESS", "RISKBOARD_RAY_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    # workers start cold unless a test is about standbys: a standby imports torch (seconds of CPU) per workspace
    monkeypatch.setenv("RISKBOARD_WARM_WORKER", "0")
    return home


RAY_MISSING = "the Ray extra is not installed (pip install -r requirements-ray.txt); Ray executor tests skipped"


@pytest.fixture(scope="session")
def ray_node_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The master key the session's Ray node holds in its environment (``RISKBOARD_DATA_KEY_FILE``), as the README
    tells operators to start nodes; a test that sets the same variable gets an encrypted workspace its workers open."""
    from core.security.keys import new_master_key

    path = tmp_path_factory.mktemp("ray-node") / "data.key"
    path.write_text(new_master_key(), encoding="utf-8")
    path.chmod(0o400)
    return path


@pytest.fixture(scope="session")
def ray_session(ray_node_key_file: Path):
    """One local Ray for the whole test session (starting Ray takes seconds): 2 CPUs, a 200 MB object store, no
    dashboard; ``core`` and ``tests`` shipped to its workers the way a cluster gets them; the node started with the
    data key file in its environment (workers inherit it from the raylet, never from a task). Skips without the
    extra."""
    ray = pytest.importorskip("ray", reason=RAY_MISSING)
    if not ray.is_initialized():
        with pytest.MonkeyPatch.context() as env:  # only the raylet started here keeps the variable
            env.setenv("RISKBOARD_DATA_KEY_FILE", str(ray_node_key_file))
            env.delenv("RISKBOARD_DATA_KEY", raising=False)
            ray.init(num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False, log_to_driver=False,
                     configure_logging=False,
                     runtime_env={"py_modules": [str(ROOT / "core"), str(ROOT / "tests")]})
    yield ray
    ray.shutdown()


@pytest.fixture
def on_ray(ray_session, monkeypatch: pytest.MonkeyPatch):
    """Jobs in this test run on the session's Ray (``RISKBOARD_EXECUTOR=ray``)."""
    monkeypatch.setenv("RISKBOARD_EXECUTOR", "ray")
    return ray_session
