"""Helpers every command module shares: the parser class, the ``--json`` flag, JSON output, reading user files."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.config import get_settings
from core.errors import FileTooLargeError, InputError


class Parser(argparse.ArgumentParser):
    """argparse that prints usage errors as one ``error:`` line (exit 2), as the contract asks."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


class LazyChoices(Sequence[str]):
    """An argparse ``choices`` list read from ``module.attribute`` only when an argument is checked or its help shown.

    The choices live with the code that uses them (``core.report``, ``core.explain``), which imports torch or
    scikit-learn; reading them at registration would make ``python -m core --help`` pay for every command's imports.
    Pass ``metavar`` with it: argparse formats the metavar when an argument is added.
    """

    def __init__(self, module: str, attribute: str) -> None:
        self._module, self._attribute = module, attribute
        self._values: tuple[str, ...] | None = None

    def _resolve(self) -> tuple[str, ...]:
        if self._values is None:
            self._values = tuple(getattr(importlib.import_module(self._module), self._attribute))
        return self._values

    def __getitem__(self, index):  # type: ignore[override]
        return self._resolve()[index]

    def __len__(self) -> int:
        return len(self._resolve())

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolve())

    def __contains__(self, value: object) -> bool:
        return value in self._resolve()


def json_flag() -> argparse.ArgumentParser:
    """A parent parser adding ``--json``: ``sub.add_parser(name, parents=[json_flag()])``."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parent


def emit_json(payload: dict[str, Any]) -> None:
    """Print exactly one strict-JSON object (non-finite floats as null) on stdout."""
    from core import jsonsafe  # imports numpy: paid by the commands that print JSON, not by ``--help``

    print(jsonsafe.dumps(payload))


def warn(message: str) -> None:
    """A ``warning:`` line on stderr, so ``--json`` output on stdout stays one object."""
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


def settings_home() -> Path:
    return get_settings().home


def read_file_bytes(path: str, *, model: bool = False) -> tuple[bytes, str]:
    """Read a file the CLI user named, with the same size cap as uploads (or model files), before reading it whole."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path!r} is not a file; check the path.")
    settings = get_settings()
    limit = settings.max_model_bytes if model else settings.max_upload_bytes
    size = file.stat().st_size
    if size > limit:
        fix = "RISKBOARD_MAX_MODEL_MB or give a smaller model" if model else \
            "RISKBOARD_MAX_UPLOAD_MB or upload a smaller sample"
        raise FileTooLargeError(f"{file.name} is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit; raise "
                                f"{fix}.")
    try:
        return file.read_bytes(), file.name
    except OSError as exc:
        raise InputError(f"Cannot read {path!r}: {exc.strerror}.") from None
