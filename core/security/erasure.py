"""Erasure that says what it could not erase: crypto-shredding, then removal, then a list of what is left.

A delete first moves what it removes into a ``.trash-<random>`` folder of the workspace (one rename each, so the
dataset or run disappears at once, or, on failure, nothing does), destroys its data keys (so every copy left behind,
here or in a backup, is unreadable), and then removes the trash. Whatever the file system refuses to remove stays
in its trash folder and is named; the next delete and ``python -m core datasets purge`` retry every trash folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path

from core.security.keys import Keyring
from core.storage import ensure_dir

TRASH_PREFIX = ".trash-"
LEFTOVERS = ("{what}, but these files could not be removed: {paths}{shredded}; fix their permissions (or free the "
             "disk) and run `python -m core datasets purge`.")


def new_trash(home: Path) -> Path:
    """A fresh trash folder inside the workspace (same file system, so moving into it is a rename)."""
    trash = ensure_dir(Path(home)) / f"{TRASH_PREFIX}{secrets.token_hex(8)}"
    trash.mkdir()
    return trash


def shred(home: Path, key_ids: list[str]) -> list[str]:
    """Destroy data keys (needs no master key); returns those that existed."""
    return Keyring(home, None).destroy(key_ids)


def _remove(path: Path) -> None:
    """Remove as much of ``path`` as the file system allows; what it refuses is found afterwards by looking."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def purge(home: Path) -> list[str]:
    """Remove every trash folder of the workspace; returns the workspace-relative paths still there."""
    home = Path(home)
    if not home.is_dir():
        return []
    left: list[str] = []
    for trash in sorted(home.glob(f"{TRASH_PREFIX}*")):
        _remove(trash)
        if trash.exists():
            left.extend(_still_there(home, trash))
    return left


def _still_there(home: Path, folder: Path) -> list[str]:
    found = [str(p.relative_to(home)) for p in folder.rglob("*") if p.is_file() or p.is_symlink()]
    return found or [str(folder.relative_to(home))]


def leftovers_message(what: str, paths: list[str], shredded: bool) -> str:
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return LEFTOVERS.format(what=what, paths=shown,
                            shredded=" (their data keys are destroyed, so they cannot be read)" if shredded else "")


def move_into(trash: Path, source: Path, name: str) -> Path:
    parked = trash / name
    os.replace(source, parked)
    return parked
