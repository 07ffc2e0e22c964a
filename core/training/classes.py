"""Which class a view looks at: one-vs-rest views of a multiclass run (fairness, explanations, the report, the CI
gate) take a class by name, and every one of them resolves it here, so a typo gets the same plain message."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import ConfigError, RiskboardError

UNKNOWN_CLASS = "{name!r} is not a class of this run; its classes are: {choices}."


def class_index(classes: Sequence[str], positive_index: int, name: str | None, *,
                error: type[RiskboardError] = ConfigError) -> int:
    """The index of class ``name`` in ``classes`` (the run's positive class when ``name`` is None or empty)."""
    if name is None or str(name) == "":
        return int(positive_index)
    names = [str(c) for c in classes]
    if str(name) not in names:
        shown = ", ".join(repr(c) for c in names[:20]) + (" ..." if len(names) > 20 else "")
        raise error(UNKNOWN_CLASS.format(name=str(name), choices=shown))
    return names.index(str(name))
