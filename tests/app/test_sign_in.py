"""The sign-in gate in app.py, viewers' hidden controls, sign-out, the idle timeout, and the Activity page."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from core.data.demo import synthetic_biased
from core.data.store import DatasetStore
from core.security import activity, users
from tests.app._apptest import open_page, plain
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
GOOD = "correct horse battery staple"


def _app(session: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="sign-in-name").input(name)
    at.text_input(key="sign-in-password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def test_password_sign_in_wrong_then_right(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_AUTH", "password")
    users.add_user(riskboard_home, "alice", "editor", GOOD)
    at = _app()
    assert [t.value for t in at.title] == ["Sign in to Riskboard"]
    _sign_in(at, "alice", "wrong password!")
    assert [plain(e.value) for e in at.error] == ["wrong user name or password."]
    _sign_in(at, "alice", GOOD)
    assert [t.value for t in at.title] == ["Riskboard"] and not at.error
    assert any("Signed in as alice (editor)" in plain(c.value) for c in at.sidebar.caption)
    assert [b.label for b in at.sidebar.button] == ["Sign out"]  # clicked in the browser test (AppTest cannot)
    signs = [(e.action, e.actor) for e in activity.entries(riskboard_home) if e.action.startswith("sign_in")]
    assert signs == [("sign_in_failed", "alice"), ("sign_in", "alice")]
    assert {e.actor for e in activity.entries(riskboard_home, action="dataset_added")} == {"alice"}  # the demo


def test_lockout_message(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_AUTH", "password")
    users.add_user(riskboard_home, "alice", "editor", GOOD)
    at = _app()
    for _ in range(5):
        _sign_in(at, "alice", "wrong password!")
    assert "too many failed sign-ins for alice; try again in 60 seconds." in plain(at.error[0].value)


def test_a_remote_visitor_without_sign_in_sees_only_how_to_turn_it_on(riskboard_home, monkeypatch):
    monkeypatch.setattr("ui.auth._request_is_local", lambda: False)
    at = _app()
    assert [t.value for t in at.title] == ["Sign-in is required from another machine"]
    assert "python -m core users add NAME --role editor" in at.markdown[0].value
    assert not at.button and not at.get("file_uploader") and not at.sidebar.button


def test_auto_asks_a_remote_visitor_for_a_password_once_users_exist(riskboard_home, monkeypatch):
    monkeypatch.setattr("ui.auth._request_is_local", lambda: False)
    users.add_user(riskboard_home, "alice", "editor", GOOD)
    assert [t.value for t in _app().title] == ["Sign in to Riskboard"]


def test_viewer_sees_data_but_no_upload_delete_or_save(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_AUTH", "password")
    DatasetStore(riskboard_home).add(synthetic_biased(300, seed=2).to_csv(index=False).encode(), "loans.csv")
    users.add_user(riskboard_home, "vera", "viewer", GOOD)
    at = _app({"auth_user": ("vera", "viewer"), "auth_last_seen": time.time()})
    at.switch_page(str(ROOT / "pages" / "data.py")).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Data"]
    labels = [b.label for b in at.button]
    assert not at.get("file_uploader") and "Delete this dataset" not in labels and "Save spec" not in labels
    assert not any("synthetic" in label for label in labels)
    assert any("Viewers cannot upload or add datasets" in plain(c.value) for c in at.caption)
    at.switch_page(str(ROOT / "pages" / "train.py")).run()
    assert not at.exception and "Train" not in [b.label for b in at.button]


def test_idle_session_is_signed_out(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_AUTH", "password")
    monkeypatch.setenv("RISKBOARD_SESSION_IDLE_MINUTES", "5")
    users.add_user(riskboard_home, "alice", "editor", GOOD)
    at = _app({"auth_user": ("alice", "editor"), "auth_last_seen": time.time() - 6 * 60})
    assert [t.value for t in at.title] == ["Sign in to Riskboard"]
    assert "signed out after 5 minutes without activity" in plain(at.info[0].value)
    assert activity.entries(riskboard_home, action="sign_out")[0].details == {"reason": "idle"}


def test_activity_page_lists_filters_and_checks_the_chain(riskboard_home):
    activity.append(riskboard_home, "run_started", "r1", {"kind": "train", "epochs": 20000}, actor="=cmd|' /C calc'!A0")
    activity.append(riskboard_home, "explained", "r1", {"run_id": "r1", "sensitive": ["sex", "race"]}, actor="bob")
    activity.append(riskboard_home, "dataset_added", "ab" * 32, {"rows": 300}, actor="bob")
    at = open_page(str(ROOT / "pages" / "activity.py"))
    assert "The log is intact: 3 entries" in plain(at.success[0].value)
    table = at.dataframe[0].value
    assert list(table["action"]) == ["dataset added", "explained", "run started"]  # in words (the CSV: the log's names)
    assert table["actor"].iloc[2].startswith("'=")  # formula escaped for the CSV too
    assert list(table["subject"]) == ["abababababab", "r1", "r1"]  # a dataset by its short id, as on every page
    assert list(table["details"]) == ["rows 300", "run id r1 · sensitive sex, race", "epochs 20,000 · kind train"]
    at.selectbox(key="activity-actor").set_value("bob").run()
    assert list(at.dataframe[0].value["actor"]) == ["bob", "bob"]


def test_oidc_mode_offers_the_organisation_sign_in(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_AUTH", "oidc")
    monkeypatch.setattr("ui.auth.oidc_configured", lambda: True)
    at = _app()
    assert [t.value for t in at.title] == ["Sign in to Riskboard"]
    assert [b.label for b in at.button] == ["Sign in with your organisation"]


def test_oidc_mode_without_secrets_explains_and_a_bad_mode_fails_closed(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_AUTH", "oidc")
    monkeypatch.setattr("ui.auth.oidc_configured", lambda: False)
    assert [t.value for t in _app().title] == ["Sign-in is required from another machine"]
    monkeypatch.setenv("RISKBOARD_AUTH", "sometimes")
    at = _app()
    assert "RISKBOARD_AUTH='sometimes' is not one of off, password, oidc, auto" in plain(at.error[0].value)
    assert not at.title


def _oidc_app(monkeypatch, claims: dict, session: dict | None = None) -> AppTest:
    """The app under RISKBOARD_AUTH=oidc with ``st.user`` seeded as Streamlit fills it from the identity token."""
    monkeypatch.setenv("RISKBOARD_AUTH", "oidc")
    monkeypatch.setenv("RISKBOARD_OIDC_ALLOW", "example.org")
    monkeypatch.setattr("ui.auth.oidc_configured", lambda: True)
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = {"is_logged_in": True, "email": "ann@example.org", **claims}
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_oidc_session_ends_when_the_identity_token_expires(riskboard_home, monkeypatch):
    at = _oidc_app(monkeypatch, {"exp": int(time.time()) + 3600})
    assert not at.title or at.title[0].value != "Sign in to Riskboard"  # a fresh token: in, as a viewer
    assert at.session_state["auth_user"] == ("ann@example.org", "viewer")
    at.user = {**at.user, "exp": int(time.time()) - 1}  # the same session, after the token's expiry
    at.run()
    assert [t.value for t in at.title] == ["Sign in to Riskboard"]
    assert "has expired" in plain(at.info[0].value)
    assert at.user["is_logged_in"] is False  # st.logout() ran: the identity cookie goes too
    assert [e.details for e in activity.entries(riskboard_home, action="sign_out")] == [{"reason": "expired"}]


def test_oidc_session_ends_when_idle_even_with_a_valid_token(riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_SESSION_IDLE_MINUTES", "5")
    at = _oidc_app(monkeypatch, {"exp": int(time.time()) + 3600},
                   {"auth_user": ("ann@example.org", "viewer"), "auth_last_seen": time.time() - 6 * 60})
    assert [t.value for t in at.title] == ["Sign in to Riskboard"]
    assert "signed out after 5 minutes without activity" in plain(at.info[0].value)
    assert at.user["is_logged_in"] is False
