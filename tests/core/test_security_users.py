"""Users, roles and sign-in: scrypt hashes, the lockout that doubles, logging of every failure, the CLI, auth modes."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest

from core.cli import main
from core.errors import PermissionDeniedError, SignInError
from core.security import activity, users
from core.security.actor import VIEWER, Actor, acting_as, cli_actor, require_editor
from core.security.auth import EXPLAIN, OIDC, OPEN, PASSWORD, AuthSettings, gate, is_local, oidc_configured, oidc_role

GOOD = "correct horse battery staple"


def test_hash_is_salted_scrypt_and_checks_in_constant_time_api():
    first, second = users.hash_password(GOOD), users.hash_password(GOOD)
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert users.check_password(GOOD, first) and not users.check_password(GOOD + "!", first)
    salt, digest = first.split("$")[4:]
    expected = hashlib.scrypt(GOOD.encode(), salt=base64.b64decode(salt), n=16384, r=8, p=1, dklen=32)
    assert base64.b64decode(digest) == expected
    assert not users.check_password(GOOD, "garbage")


def test_short_password_is_refused(riskboard_home):
    with pytest.raises(SignInError, match="too short; use at least 12"):
        users.add_user(riskboard_home, "alice", "editor", "short")


def test_lockout_after_five_failures_doubles_and_every_failure_is_logged(riskboard_home):
    users.add_user(riskboard_home, "alice", "editor", GOOD)
    now = 1_000_000.0
    for _ in range(4):
        with pytest.raises(SignInError, match="wrong user name or password"):
            users.authenticate(riskboard_home, "alice", "wrong password!", now=now)
    with pytest.raises(SignInError, match="too many failed sign-ins for alice; try again in 60 seconds"):
        users.authenticate(riskboard_home, "alice", "wrong password!", now=now)
    with pytest.raises(SignInError, match="try again in 30 seconds"):  # even the right password waits
        users.authenticate(riskboard_home, "alice", GOOD, now=now + 30)
    with pytest.raises(SignInError, match="try again in 120 seconds"):  # the next failure doubles the lock
        users.authenticate(riskboard_home, "alice", "wrong again!!", now=now + 61)
    assert users.locked_for(riskboard_home, "alice", now=now + 61) == 120
    signed = users.authenticate(riskboard_home, "alice", GOOD, now=now + 182)
    assert signed == Actor("alice", "editor")
    failed = activity.entries(riskboard_home, action="sign_in_failed")
    assert len(failed) == 7 and all(e.actor == "alice" for e in failed)
    assert [e.details["reason"] for e in failed].count("locked") == 1
    assert all(GOOD not in json.dumps(e.details) for e in activity.entries(riskboard_home))
    assert users.locked_for(riskboard_home, "alice", now=now + 182) == 0


def test_unknown_user_fails_like_a_wrong_password(riskboard_home):
    with pytest.raises(SignInError, match="wrong user name or password"):
        users.authenticate(riskboard_home, "mallory", GOOD)
    assert activity.entries(riskboard_home, action="sign_in_failed")[0].details["reason"] == "unknown user"


def test_viewer_is_refused_by_core(riskboard_home):
    with acting_as(Actor("vera", VIEWER)), pytest.raises(PermissionDeniedError, match="vera is a viewer"):
        require_editor("upload a dataset")
    assert require_editor("x") == cli_actor()


def test_users_cli_round_trip(monkeypatch, capsys, riskboard_home):
    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD + "\n"))
    assert main(["users", "add", "bob", "--role", "viewer", "--password-stdin"]) == 0
    assert main(["users", "list", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    listed = json.loads(out)["users"]
    assert [(u["name"], u["role"]) for u in listed] == [("bob", "viewer")] and "scrypt" not in out
    assert main(["users", "role", "bob", "--role", "editor"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("another long passphrase\n"))
    assert main(["users", "passwd", "bob", "--password-stdin"]) == 0
    assert users.authenticate(riskboard_home, "bob", "another long passphrase").role == "editor"
    assert main(["users", "remove", "bob"]) == 0
    assert main(["users", "remove", "bob"]) == 2
    assert capsys.readouterr().err.count("error:") == 1
    actions = [e.action for e in activity.entries(riskboard_home)]
    assert actions == ["user_added", "role_changed", "password_changed", "sign_in", "user_removed"]
    assert activity.entries(riskboard_home)[0].actor.startswith("cli:")


@pytest.mark.parametrize(("mode", "local", "oidc", "has_users", "expected"), [
    ("auto", True, False, False, OPEN), ("auto", False, False, False, EXPLAIN), ("auto", False, False, True, PASSWORD),
    ("auto", False, True, True, OIDC), ("off", False, False, False, OPEN), ("password", True, False, False, PASSWORD),
    ("oidc", True, False, True, EXPLAIN), ("oidc", False, True, False, OIDC)])
def test_gate(mode, local, oidc, has_users, expected):
    assert gate(mode, local=local, oidc_ready=oidc, has_users=has_users) == expected


def test_loopback_rule():
    assert is_local(None) and is_local("127.0.0.1") and is_local("::1") and is_local("::ffff:127.0.0.1")
    assert not is_local("10.1.2.3") and not is_local("not an ip")
    assert not is_local(None, {"X-Forwarded-For": "203.0.113.9"})


def test_oidc_allow_list_and_secrets(tmp_path):
    settings = AuthSettings(mode="oidc", idle_minutes=60, allow=("example.org", "ann@other.net"),
                            editors=("@example.org",))
    assert oidc_role("Bo@Example.org", settings) == "editor"
    assert oidc_role("ann@other.net", settings) == "viewer"
    assert oidc_role("eve@other.net", settings) is None and oidc_role(None, settings) is None
    assert oidc_role("x@evil-example.org", settings) is None
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n')
    assert oidc_configured([secrets]) and not oidc_configured([tmp_path / "none.toml"])


def test_token_expiry_from_the_exp_claim():
    from core.security.auth import token_expired

    assert token_expired(99, 100.0) and token_expired("100", 100.0) and not token_expired(101, 100.0)
    assert not token_expired(None, 100.0) and not token_expired("soon", 100.0)  # left to the idle timeout
