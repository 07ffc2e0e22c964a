"""Package names loaded on first use (PEP 562), written once for every package that needs it.

Why: importing one light part of a package (a run's settings, its privacy record, the data split) must not import
torch, scikit-learn or shap for the package's other parts, which would cost every command seconds of start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """``(__all__, __getattr__)`` for ``package``: each name in ``where`` is read from its module on first use."""
    table = dict(where)

    def __getattr__(name: str) -> Any:
        if name in table:
            return getattr(import_module(table[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return sorted(table), __getattr__
