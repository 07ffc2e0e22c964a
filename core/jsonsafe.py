"""The one place where Python, numpy and non-finite values become valid JSON.

JSON has no NaN or infinity: ``json.dumps(float("nan"))`` writes ``NaN``, which browsers, ``jq`` and most JSON
parsers refuse. Undefined metrics (an AUC on a one-class test set) are therefore stored as ``null``. Every JSON
artifact, CLI payload and run-store column goes through :func:`finite` / :func:`dumps`, so there is one rule
everywhere instead of a copy per module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def finite(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python values and every non-finite float as ``None`` (recursively)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return finite(value.item())
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [finite(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return finite(value.tolist())
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """Strict JSON text of ``value`` (``allow_nan=False`` after :func:`finite`, so it can never emit ``NaN``)."""
    return json.dumps(finite(value), indent=indent, allow_nan=False, ensure_ascii=False, sort_keys=sort_keys)
