"""Sign-in in a real browser: a wrong then a right password, the lockout message, sign-out, a viewer without upload,
train or delete controls, and the only page a remote visitor sees when sign-in is off."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.data.demo import synthetic_biased
from core.data.store import DatasetStore
from core.security import users
from tests.browser.conftest import screenshot, serve_app, wait_idle

pytestmark = pytest.mark.browser
GOOD = "correct horse battery staple"


@pytest.fixture(scope="module")
def app_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sign-in-home")
    for name, role in (("alice", "editor"), ("bob", "editor"), ("vera", "viewer")):
        users.add_user(home, name, role, GOOD)
    DatasetStore(home).add(synthetic_biased(300, seed=2).to_csv(index=False).encode(), "loans.csv")
    return home


@pytest.fixture(scope="module")
def app_url(app_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_app(app_home, tmp_path_factory.mktemp("logs"), env={"RISKBOARD_AUTH": "password"}) as url:
        yield url


def _sign_in(page, name: str, password: str) -> None:
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)


def _open(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    wait_idle(page)


def test_wrong_then_right_password_then_sign_out(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    page.get_by_role("heading", name="Sign in to Riskboard").wait_for()
    assert page.get_by_text("Data", exact=True).count() == 0  # no navigation before sign-in
    _sign_in(page, "alice", "not the password")
    page.get_by_text("wrong user name or password.").wait_for()
    _sign_in(page, "alice", GOOD)
    page.get_by_text("Signed in as alice (editor)").wait_for()
    page.get_by_role("heading", name="Riskboard", exact=True).wait_for()
    page.get_by_role("button", name="Sign out").click()
    wait_idle(page)
    page.get_by_role("heading", name="Sign in to Riskboard").wait_for()


def test_five_failures_show_the_lockout(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    for _ in range(5):
        _sign_in(page, "bob", "not the password")
    page.get_by_text("too many failed sign-ins for bob; try again in 60 seconds.").wait_for()
    _sign_in(page, "bob", GOOD)  # even the right password waits for the lock
    page.get_by_text("too many failed sign-ins for bob").wait_for()
    assert page.get_by_text("Signed in as bob").count() == 0


def test_a_viewer_has_no_upload_train_or_delete_control(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    _sign_in(page, "vera", GOOD)
    page.get_by_text("Signed in as vera (viewer)").wait_for()
    _open(page, "Data")  # through the navigation: a fresh URL would be a new, signed-out session
    page.get_by_text("Viewers cannot upload or add datasets; ask an editor.").wait_for()
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    assert page.get_by_role("button", name="Delete this dataset").count() == 0
    assert page.get_by_text("Manage datasets").count() == 0
    assert page.get_by_role("button", name="Save spec").count() == 0
    _open(page, "Train")
    page.get_by_text("Viewers cannot start training runs; ask an editor.").wait_for()
    assert page.get_by_role("button", name="Train").count() == 0
    screenshot(page, "viewer-train-page.png")


def _lan_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") else address


def test_a_remote_visitor_without_sign_in_sees_only_how_to_turn_it_on(browser, tmp_path):
    address = _lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to visit the app from")
    home = tmp_path / "open-home"
    DatasetStore(home).add(synthetic_biased(200, seed=2).to_csv(index=False).encode(), "loans.csv")
    with serve_app(home, tmp_path, address=address, host=address) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        tab.goto(url)
        wait_idle(tab)
        tab.get_by_role("heading", name="Sign-in is required from another machine").wait_for()
        tab.get_by_text("python -m core users add NAME --role editor").first.wait_for()
        tab.goto(f"{url}/data")
        wait_idle(tab)
        tab.get_by_role("heading", name="Sign-in is required from another machine").wait_for()
        assert tab.get_by_text("loans.csv").count() == 0 and tab.locator('[data-testid="stFileUploader"]').count() == 0
        context.close()
