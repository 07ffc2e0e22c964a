"""The sign-in gate app.py runs before any page, the sign-out control, and ``can_edit`` for hiding controls.

Which gate applies is decided in :mod:`core.security.auth` (``RISKBOARD_AUTH`` and the loopback rule); this module
only draws it. The signed-in user is kept in the session as (name, role) and set as the acting user for the core
on every run, so the core refuses a viewer's change even if a control slipped through. A session that has seen no
script run for ``RISKBOARD_SESSION_IDLE_MINUTES`` is signed out; an OIDC session also ends when its identity
token expires (``st.user``'s ``exp`` claim), whichever comes first.
"""

from __future__ import annotations

import getpass
import time

import streamlit as st

from core.config import get_settings
from core.errors import ConfigError, SignInError
from core.security import activity, users
from core.security.actor import EDITOR, Actor, current_actor, set_actor
from core.security.auth import (
    EXPLAIN,
    NOT_ALLOWED,
    OIDC,
    OPEN,
    PASSWORD,
    auth_settings,
    gate,
    is_local,
    oidc_configured,
    oidc_role,
    token_expired,
)
from ui import state
from ui.text import md_escape

EXPLAIN_TEXT = """
This Riskboard is being opened from another machine, and sign-in is not turned on, so it shows nothing else.
Riskboard holds uploaded tables and models; without sign-in anyone who reaches this address could read and delete
them. An administrator on the server can turn sign-in on in one of two ways:

**Users with passwords**

1. Add a user: `python -m core users add NAME --role editor` (it asks for a password of 12 or more characters).
2. Restart the app with `RISKBOARD_AUTH=password` (or leave `auto`: it asks for a password once users exist).

**Your organisation's single sign-on (OIDC)**

1. Put the provider's settings in an `[auth]` section of `.streamlit/secrets.toml` (see Streamlit's `st.login`).
2. Set `RISKBOARD_OIDC_ALLOW` to the e-mails or domains allowed in, and `RISKBOARD_OIDC_EDITORS` to who may change
   things; restart with `RISKBOARD_AUTH=oidc`.

To use Riskboard without sign-in, open it on the server itself (http://localhost:8501).
"""


def _local_actor() -> Actor:
    try:
        return Actor(f"local:{getpass.getuser()}", EDITOR)
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        return Actor("local", EDITOR)


def _request_is_local() -> bool:
    """Streamlit gives the browser's address as text, or None for loopback (and for a test run without a browser,
    where it is a stand-in object: no connection from another machine exists there)."""
    headers = dict(st.context.headers or {})
    address = st.context.ip_address
    return is_local(address if isinstance(address, str) else None, headers)


def _signed_in() -> Actor | None:
    saved = st.session_state.get(state.AUTH_USER)
    return Actor(saved[0], saved[1]) if saved else None


EXPIRED_TEXT = "Your sign-in with your organisation has expired; sign in again."


def sign_out(reason: str = "user", name: str | None = None) -> None:
    """End the session's sign-in (and log it; ``name`` for an OIDC identity this session had not signed in yet)."""
    actor = _signed_in()
    name = actor.name if actor is not None else name
    if name:
        activity.append(get_settings().home, "sign_out", name, {"reason": reason}, actor=name)
    for key in (state.AUTH_USER, state.AUTH_LAST_SEEN):
        st.session_state.pop(key, None)
    if reason == "idle":
        st.session_state[state.AUTH_NOTICE] = (f"You were signed out after {auth_settings().idle_minutes:g} minutes "
                                               "without activity.")
    elif reason == "expired":
        st.session_state[state.AUTH_NOTICE] = EXPIRED_TEXT


def _idle_check() -> None:
    now = time.time()
    last = st.session_state.get(state.AUTH_LAST_SEEN)
    if _signed_in() is not None and last is not None and now - last > auth_settings().idle_minutes * 60:
        sign_out("idle")
        if st.user.get("is_logged_in"):
            st.logout()
    st.session_state[state.AUTH_LAST_SEEN] = now


def _password_form() -> None:
    st.title("Sign in to Riskboard")
    if notice := st.session_state.pop(state.AUTH_NOTICE, None):
        st.info(md_escape(notice))
    with st.form("sign-in"):
        name = st.text_input("User name", key="sign-in-name", max_chars=128)
        password = st.text_input("Password", type="password", key="sign-in-password", max_chars=1024)
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            actor = users.authenticate(get_settings().home, name, password)
        except SignInError as exc:
            st.error(md_escape(exc), icon="⚠️")
            return
        st.session_state[state.AUTH_USER] = (actor.name, actor.role)
        st.session_state[state.AUTH_LAST_SEEN] = time.time()
        st.rerun()


def _oidc_page() -> None:
    st.title("Sign in to Riskboard")
    if notice := st.session_state.pop(state.AUTH_NOTICE, None):
        st.info(md_escape(notice))
    st.button("Sign in with your organisation", type="primary", key="oidc-login", on_click=st.login)


def _oidc_actor() -> Actor | None:
    """The OIDC user as an actor (logged once per session), or None after showing why they cannot come in."""
    if not st.user.get("is_logged_in"):
        return None
    email = str(st.user.get("email") or "")
    if token_expired(st.user.get("exp"), time.time()):  # the cookie outlives the token; Streamlit does not check
        sign_out("expired", email)
        st.logout()
        return None
    role = oidc_role(email, auth_settings())
    if role is None:
        st.error(md_escape(NOT_ALLOWED.format(email=email or "this account")))
        st.button("Sign out", key="oidc-refused-logout", on_click=st.logout)
        activity.append(get_settings().home, "sign_in_failed", email, {"reason": "not on the allow-list",
                                                                       "method": "oidc"}, actor=email or "unknown")
        st.stop()
    if _signed_in() is None:
        st.session_state[state.AUTH_USER] = (email, role)
        activity.append(get_settings().home, "sign_in", email, {"method": "oidc"}, actor=email)
    return Actor(email, role)


def _explain_page() -> None:
    st.title("Sign-in is required from another machine")
    st.markdown(EXPLAIN_TEXT)


def require_sign_in() -> Actor | None:
    """Run the gate. Returns the acting user, or None when the page to run is the gate itself (sign-in form,
    OIDC button or the explanation); app.py then routes only to :func:`gate_page`."""
    try:
        settings = auth_settings()
    except ConfigError as exc:  # a mistyped RISKBOARD_AUTH: fail closed, say what to fix
        st.error(md_escape(exc), icon="⚠️")
        st.stop()
    decision = gate(settings.mode, local=_request_is_local(), oidc_ready=oidc_configured(),
                    has_users=users.any_users(get_settings().home))
    st.session_state[state.AUTH_GATE] = decision
    if decision == OPEN:
        actor = _local_actor() if settings.mode != "off" or _request_is_local() else Actor("anonymous", EDITOR)
        set_actor(actor)
        return actor
    if decision == EXPLAIN:
        set_actor(None)
        return None
    _idle_check()
    actor = _oidc_actor() if decision == OIDC else _signed_in()
    set_actor(actor)
    return actor


def gate_page() -> None:
    """The only page a visitor who is not signed in can reach."""
    decision = st.session_state.get(state.AUTH_GATE)
    if decision == EXPLAIN:
        _explain_page()
    elif decision == OIDC:
        _oidc_page()
    elif decision == PASSWORD:
        _password_form()


def sign_out_control() -> None:
    """Who is signed in, and a sign-out button, in the sidebar of every page (when sign-in is on)."""
    actor = _signed_in()
    if actor is None:
        return
    st.sidebar.caption(md_escape(f"Signed in as {actor.name} ({actor.role})"))
    if st.sidebar.button("Sign out", key="sign-out"):
        oidc = st.user.get("is_logged_in")
        sign_out()
        if oidc:
            st.logout()
        st.rerun()


def can_edit() -> bool:
    """True when the acting user may change things (pages hide upload, delete, train, save controls otherwise)."""
    return current_actor().can_edit


def viewer_note(what: str) -> None:
    """One quiet line where a viewer would have found a control."""
    st.caption(md_escape(f"Viewers cannot {what}; ask an editor."))
