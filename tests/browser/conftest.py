"""Real-browser fixtures: a Streamlit server on a free port with its own workspace, and Debian's Chromium.

Playwright's own browser download needs the internet, so we drive /usr/bin/chromium (installed by `make test`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
OUTPUT = ROOT / "test-output"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's workspace; a test module may override this fixture to put runs in it before the server starts."""
    return tmp_path_factory.mktemp("browser-home")


@contextmanager
def serve_app(home: Path, log_dir: Path, *, env: dict[str, str] | None = None, address: str = "127.0.0.1",
              host: str = "127.0.0.1") -> Iterator[str]:
    """A real Streamlit server on a free port over workspace ``home`` (on loopback unless ``address`` says
    otherwise; ``host`` is the address the browser uses); yields its URL, stops it after."""
    port = _free_port()
    env = dict(os.environ, RISKBOARD_HOME=str(home), PYTHONUNBUFFERED="1", **(env or {}))
    log = (log_dir / "streamlit.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         address, "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not start; log: {Path(log.name).read_text()[-2000:]}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def app_url(app_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_app(app_home, tmp_path_factory.mktemp("logs")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make test`, which installs it (apt-get install chromium).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def wait_idle(tab, timeout_ms: int = 60_000) -> None:
    """Streamlit is idle when the app reports notRunning and no skeleton placeholders remain."""
    tab.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms)


def screenshot(tab, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    tab.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On a failed browser step, keep what the tab showed (test-output/failed-<test>.png): the log alone rarely says
    why a wait timed out."""
    report = yield
    if report.when == "call" and report.failed:
        fixtures = getattr(item, "funcargs", {})
        tab = fixtures.get("page") or (fixtures.get("session") or (None,))[0]
        if tab is not None:
            with suppress(Exception):  # a closed tab must not hide the test's own failure
                screenshot(tab, f"failed-{item.name}.png")
    return report
