"""Which sign-in the app asks for: ``RISKBOARD_AUTH`` and the loopback rule, as pure functions the app calls.

| variable | default | meaning |
| --- | --- | --- |
| ``RISKBOARD_AUTH`` | ``auto`` | ``off``, ``password`` (users in the workspace), ``oidc`` (``st.login``), ``auto`` |
| ``RISKBOARD_SESSION_IDLE_MINUTES`` | 60 | a signed-in session ends after this long without activity |
| ``RISKBOARD_OIDC_ALLOW`` | (empty) | e-mails or domains (``example.org`` / ``@example.org``) allowed to sign in |
| ``RISKBOARD_OIDC_EDITORS`` | (empty) | e-mails or domains whose OIDC users are editors; other allowed users view |

``auto`` is off for a browser on this machine (loopback). From another address it asks for OIDC when
``.streamlit/secrets.toml`` has an ``[auth]`` section, for a password when the workspace has users, and otherwise
shows only a page that explains how to turn sign-in on. A request that carries proxy headers
(``X-Forwarded-For``, ``Forwarded``, ``X-Real-Ip``) came through a proxy and counts as remote, since a proxy on
this machine would make every visitor look local.

An OIDC session ends at whichever comes first: the identity token's expiry (its ``exp`` claim, which ``st.user``
exposes but Streamlit does not check; the identity cookie itself lasts 30 days) or the idle timeout.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.config import _number
from core.errors import ConfigError
from core.security.actor import EDITOR, VIEWER

MODES = ("off", "password", "oidc", "auto")
OPEN, PASSWORD, OIDC, EXPLAIN = "open", "password", "oidc", "explain"
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")

BAD_MODE = "RISKBOARD_AUTH={value!r} is not one of off, password, oidc, auto; unset it for auto."
OIDC_MISSING = ("RISKBOARD_AUTH=oidc but .streamlit/secrets.toml has no [auth] section; add the provider's "
                "settings there (see README, Sign-in) or use RISKBOARD_AUTH=password.")
NOT_ALLOWED = "{email} is not on the allow-list (RISKBOARD_OIDC_ALLOW); ask an administrator to add you."


@dataclass(frozen=True)
class AuthSettings:
    mode: str
    idle_minutes: float
    allow: tuple[str, ...]
    editors: tuple[str, ...]


def _list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(item.strip().lower() for item in raw.replace(";", ",").split(",") if item.strip())


def auth_settings() -> AuthSettings:
    mode = os.environ.get("RISKBOARD_AUTH", "").strip().lower() or "auto"
    if mode not in MODES:
        raise ConfigError(BAD_MODE.format(value=mode))
    return AuthSettings(mode=mode, idle_minutes=_number("RISKBOARD_SESSION_IDLE_MINUTES", 60, kind=float, minimum=1),
                        allow=_list("RISKBOARD_OIDC_ALLOW"), editors=_list("RISKBOARD_OIDC_EDITORS"))


def is_local(ip_address: str | None, headers: Mapping[str, str] | None = None) -> bool:
    """True for a browser on this machine: no address (Streamlit's answer for loopback) or a loopback address,
    and no proxy header."""
    lowered = {str(k).lower() for k in (headers or {})}
    if any(h in lowered for h in PROXY_HEADERS):
        return False
    if ip_address is None or ip_address == "localhost":
        return True
    try:
        address = ipaddress.ip_address(ip_address.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def secrets_paths(cwd: Path | None = None) -> list[Path]:
    """Where Streamlit reads secrets: the project's ``.streamlit/secrets.toml``, then the user's."""
    return [(cwd or Path.cwd()) / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"]


def oidc_configured(paths: Iterable[Path] | None = None) -> bool:
    """True when a secrets file has an ``[auth]`` section (what ``st.login`` needs)."""
    for path in paths if paths is not None else secrets_paths():
        try:
            body = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        if isinstance(body.get("auth"), dict):
            return True
    return False


def gate(mode: str, *, local: bool, oidc_ready: bool, has_users: bool) -> str:
    """What the app shows before any page: ``open``, ``password``, ``oidc`` or ``explain`` (how to turn it on)."""
    if mode == "off":
        return OPEN
    if mode == "password":
        return PASSWORD
    if mode == "oidc":
        return OIDC if oidc_ready else EXPLAIN
    if local:
        return OPEN
    if oidc_ready:
        return OIDC
    return PASSWORD if has_users else EXPLAIN


def token_expired(exp: object, now: float) -> bool:
    """True when an identity token's ``exp`` claim (seconds since 1970) is at or before ``now``. OIDC requires the
    claim; a token without a readable one is left to the idle timeout (refusing it would send that provider's users
    round a sign-in loop)."""
    if exp is None or isinstance(exp, bool):
        return False
    try:
        return float(exp) <= now  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _matches(email: str, patterns: Iterable[str]) -> bool:
    email = email.strip().lower()
    domain = email.rsplit("@", 1)[-1] if "@" in email else ""
    for pattern in patterns:
        if "@" in pattern.lstrip("@"):
            if email == pattern:
                return True
        elif domain and domain == pattern.lstrip("@"):
            return True
    return False


def oidc_role(email: str | None, settings: AuthSettings) -> str | None:
    """The role of an OIDC user, or None when the e-mail is not allowed (an empty allow-list allows nobody)."""
    if not email or "@" not in email or not _matches(email, settings.allow):
        return None
    return EDITOR if _matches(email, settings.editors) else VIEWER
