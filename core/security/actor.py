"""Who is acting, and what they may do: the one place every core function asks before it changes something.

The app sets the signed-in user at the start of each script run (:func:`set_actor`); the command line acts as the
local operating-system user, ``cli:<user>``, an editor. A viewer may read every page, report and chart; the core
functions that upload, delete, train, mitigate or save call :func:`require_editor`, so a hidden button is not the
only thing standing between a viewer and a change.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from core.errors import PermissionDeniedError

EDITOR = "editor"
VIEWER = "viewer"
ROLES = (EDITOR, VIEWER)

VIEWER_REFUSED = "{name} is a viewer and cannot {what}; ask an editor to do it, or to make you an editor."


@dataclass(frozen=True)
class Actor:
    """A person (or the command line) acting on the workspace."""

    name: str
    role: str = EDITOR

    @property
    def can_edit(self) -> bool:
        return self.role == EDITOR


def cli_actor() -> Actor:
    """The local operating-system user running the command line (an editor: they own the files anyway)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry in some containers
        user = "unknown"
    return Actor(f"cli:{user}", EDITOR)


_CURRENT: ContextVar[Actor | None] = ContextVar("riskboard_actor", default=None)


def current_actor() -> Actor:
    """The actor set for this thread of work, or the command-line user when none was set."""
    return _CURRENT.get() or cli_actor()


def set_actor(actor: Actor | None) -> None:
    """Set the actor for the rest of this script run (the app calls this once per run, after the sign-in gate)."""
    _CURRENT.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Act as ``actor`` inside the block (tests, and work done on a user's behalf)."""
    token = _CURRENT.set(actor)
    try:
        yield actor
    finally:
        _CURRENT.reset(token)


def require_editor(what: str) -> Actor:
    """The current actor, if they may change things; :class:`PermissionDeniedError` for a viewer."""
    actor = current_actor()
    if not actor.can_edit:
        raise PermissionDeniedError(VIEWER_REFUSED.format(name=actor.name, what=what))
    return actor
