"""Users kept in the workspace: salted scrypt hashes, constant-time checks, and a lockout that doubles.

* **Hashes**: ``hashlib.scrypt`` (n = 2**14, r = 8, p = 1, the common interactive setting) with a 16-byte random
  salt, stored as ``scrypt$n$r$p$salt$hash`` so the parameters can be raised later without breaking old hashes.
  Hashes are compared with :func:`hmac.compare_digest`, and an unknown name is checked against a dummy hash, so the
  time a sign-in takes says nothing about which names exist.
* **Lockout**: five failures in a row for one name lock it for a minute; each failure after a lock locks it again for
  twice as long. A success clears the count. Locks are kept per name (known or not) in ``sign_in_failures``.
* **Logging**: every failure is an activity entry (``sign_in_failed``) with the reason; never the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import SignInError
from core.security import activity
from core.security._db import connection, transaction
from core.security.actor import ROLES, Actor

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
FAILURES_BEFORE_LOCK = 5
FIRST_LOCK_SECONDS = 60.0
_N, _R, _P, _DKLEN = 2 ** 14, 8, 1, 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")

BAD_NAME = ("{name!r} is not a user name; use 1-128 letters, digits, '.', '_', '@', '+' or '-', starting with a "
            "letter or digit.")
BAD_ROLE = "{role!r} is not a role; use editor or viewer."
TOO_SHORT = f"the password is too short; use at least {MIN_PASSWORD_LENGTH} characters (a phrase of a few words)."
TOO_LONG = f"the password is too long; use at most {MAX_PASSWORD_LENGTH} characters."
USER_EXISTS = "user {name} already exists; change their password with `users passwd` or their role with `users role`."
NO_USER = "there is no user {name}; list them with `python -m core users list`."
WRONG = "wrong user name or password."
LOCKED = "too many failed sign-ins for {name}; try again in {seconds} seconds."


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: str
    changed_at: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role, "created_at": self.created_at, "changed_at": self.changed_at}


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SignInError(BAD_NAME.format(name=str(name)[:80]))
    return name


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise SignInError(BAD_ROLE.format(role=role))
    return role


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` (which must be long enough)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SignInError(TOO_SHORT)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise SignInError(TOO_LONG)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; the comparison takes the same time whatever the bytes."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password[:MAX_PASSWORD_LENGTH].encode("utf-8"), salt=base64.b64decode(salt),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + base64.b64encode(bytes(32)).decode()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _user(row) -> User:
    return User(name=row["name"], role=row["role"], created_at=row["created_at"], changed_at=row["changed_at"])


def list_users(home: Path) -> list[User]:
    if not (Path(home) / "runs.sqlite").is_file():
        return []
    with connection(home) as conn:
        return [_user(r) for r in conn.execute("SELECT name, role, created_at, changed_at FROM users ORDER BY name")]


def any_users(home: Path) -> bool:
    return bool(list_users(home))


def get_user(home: Path, name: str) -> User:
    validate_name(name)
    with connection(home) as conn:
        row = conn.execute("SELECT name, role, created_at, changed_at FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise SignInError(NO_USER.format(name=name))
    return _user(row)


def add_user(home: Path, name: str, role: str, password: str) -> User:
    validate_name(name)
    validate_role(role)
    hashed = hash_password(password)
    now = _now_iso()
    with transaction(home) as conn:
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise SignInError(USER_EXISTS.format(name=name))
        conn.execute("INSERT INTO users (name, role, password_hash, created_at, changed_at) VALUES (?, ?, ?, ?, ?)",
                     (name, role, hashed, now, now))
    activity.append(home, "user_added", name, {"role": role})
    return User(name=name, role=role, created_at=now, changed_at=now)


def set_password(home: Path, name: str, password: str) -> None:
    get_user(home, name)
    hashed = hash_password(password)
    with transaction(home) as conn:
        conn.execute("UPDATE users SET password_hash = ?, changed_at = ? WHERE name = ?", (hashed, _now_iso(), name))
        conn.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))
    activity.append(home, "password_changed", name)


def set_role(home: Path, name: str, role: str) -> User:
    before = get_user(home, name)
    validate_role(role)
    with transaction(home) as conn:
        conn.execute("UPDATE users SET role = ?, changed_at = ? WHERE name = ?", (role, _now_iso(), name))
    activity.append(home, "role_changed", name, {"from": before.role, "to": role})
    return get_user(home, name)


def remove_user(home: Path, name: str) -> None:
    get_user(home, name)
    with transaction(home) as conn:
        conn.execute("DELETE FROM users WHERE name = ?", (name,))
        conn.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))
    activity.append(home, "user_removed", name)


def locked_for(home: Path, name: str, *, now: float | None = None) -> float:
    """Seconds until ``name`` may try again (0 when it is not locked)."""
    now = time.time() if now is None else now
    with connection(home) as conn:
        row = conn.execute("SELECT locked_until FROM sign_in_failures WHERE name = ?", (name,)).fetchone()
    return 0.0 if row is None else max(0.0, float(row["locked_until"]) - now)


def _fail(home: Path, name: str, reason: str, now: float) -> float:
    """Count a failure; returns the lock it starts (0 if none). Counted and logged in one step each."""
    with transaction(home) as conn:
        row = conn.execute("SELECT failures, lock_seconds FROM sign_in_failures WHERE name = ?", (name,)).fetchone()
        failures = 1 if row is None else int(row["failures"]) + 1
        last_lock = 0.0 if row is None else float(row["lock_seconds"])
        lock = 0.0
        if failures >= FAILURES_BEFORE_LOCK:
            lock = FIRST_LOCK_SECONDS if last_lock == 0 else last_lock * 2
        conn.execute("INSERT INTO sign_in_failures (name, failures, locked_until, lock_seconds) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (name) DO UPDATE SET failures = excluded.failures, "
                     "locked_until = excluded.locked_until, lock_seconds = excluded.lock_seconds",
                     (name, failures, now + lock, lock or last_lock))
    activity.append(home, "sign_in_failed", name, {"reason": reason, "failures": failures,
                                                   "locked_seconds": lock}, actor=name)
    return lock


def authenticate(home: Path, name: str, password: str, *, now: float | None = None) -> Actor:
    """The signed-in :class:`Actor` for a right name and password; :class:`SignInError` otherwise.

    A locked name is refused before its password is checked (and the refusal is logged too).
    """
    now = time.time() if now is None else now
    name = str(name).strip()
    if not _NAME.fullmatch(name):
        raise SignInError(WRONG)
    wait = locked_for(home, name, now=now)
    if wait > 0:
        activity.append(home, "sign_in_failed", name, {"reason": "locked", "locked_seconds": round(wait)},
                        actor=name)
        raise SignInError(LOCKED.format(name=name, seconds=int(wait + 0.999)))
    with connection(home) as conn:
        row = conn.execute("SELECT role, password_hash FROM users WHERE name = ?", (name,)).fetchone()
    matched = check_password(password, row["password_hash"] if row else _DUMMY_HASH)
    if row is None or not matched:
        lock = _fail(home, name, "unknown user" if row is None else "wrong password", now)
        if lock:
            raise SignInError(LOCKED.format(name=name, seconds=int(lock)))
        raise SignInError(WRONG)
    with transaction(home) as conn:
        conn.execute("DELETE FROM sign_in_failures WHERE name = ?", (name,))
    activity.append(home, "sign_in", name, {"method": "password"}, actor=name)
    return Actor(name, row["role"])
