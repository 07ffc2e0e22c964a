"""Trust: who may act (users, roles, sign-in), what they did (the hash-chained activity log) and encryption at rest.

Public API re-exported here; the implementation lives in the modules of this package. This package sits beside
:mod:`core.storage`, below the data layer, and imports nothing above it.
"""

from core.security.actor import EDITOR, ROLES, VIEWER, Actor, acting_as, current_actor, require_editor, set_actor

__all__ = ["EDITOR", "ROLES", "VIEWER", "Actor", "acting_as", "current_actor", "require_editor", "set_actor"]
