"""Encrypting a workspace that was used before a key was set: find the row-level files still in plaintext, and
seal them in place.

Files written before ``RISKBOARD_DATA_KEY`` was set stay readable as they are, but they are plaintext on disk. A
keyed workspace that still holds any is named by :func:`plaintext_files` (the app and the command line warn), and
``python -m core keys encrypt-workspace`` runs :func:`encrypt_workspace`: every dataset file, spec and run file is
sealed under its own data key, one file at a time (write the sealed copy, rename it over the plaintext, then zero
the old plaintext's blocks), so it can be interrupted and run again; what an earlier delete left in a trash folder
is removed, and so are upload or write temp files left by a crash more than an hour ago.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError, RiskboardError
from core.runs import RunArtifacts
from core.security import activity, erasure
from core.security.at_rest import encryption_on
from core.security.crypto import is_plain_file

NO_KEY = ("no data key is set, so there is nothing to encrypt with; make one with `python -m core keys new` and set "
          "RISKBOARD_DATA_KEY or RISKBOARD_DATA_KEY_FILE, then run this again.")
PLAINTEXT_LEFT = ("{count} row-level file(s) in this workspace were written before the data key was set and are "
                  "still plaintext on disk (first: {first}); encrypt them with `python -m core keys "
                  "encrypt-workspace`.")
STALE_S = 3600.0
_TEMP_PREFIXES = (".tmp-", ".upload-")


@dataclass(frozen=True)
class Sweep:
    sealed: list[str]
    removed: list[str]
    left: list[str]

    def to_dict(self) -> dict:
        return {"sealed": len(self.sealed), "removed": len(self.removed), "left": list(self.left)}


def _row_level(home: Path) -> list[Path]:
    """Every file that holds table values or per-row results: dataset files, specs, run files."""
    found = [p for p in sorted((home / "datasets").glob("*/*")) if p.name in ("data.parquet", "meta.json")]
    found += sorted((home / "specs").glob("*.json"))
    for folder in sorted((home / "runs").glob("*")):
        if folder.is_dir():
            found += [folder / name for name in RunArtifacts(folder).stored_names()]
    return found


def _temp_files(home: Path) -> list[Path]:
    """Write and upload temp files a crash left (they may hold plaintext), trash folders of unfinished deletes."""
    found = [p for root in ("datasets", "specs", "runs") for p in (home / root).rglob(".*")
             if p.name.startswith(_TEMP_PREFIXES)]
    return found + sorted(home.glob(f"{erasure.TRASH_PREFIX}*"))


def plaintext_files(home: Path | str) -> list[str]:
    """Workspace-relative paths of row-level files stored in plaintext (and of temp or trash leftovers)."""
    home = Path(home)
    plain = [p for p in _row_level(home) if is_plain_file(p)] + _temp_files(home)
    return [str(p.relative_to(home)) for p in plain]


def plaintext_warning(home: Path | str) -> str | None:
    """The warning to show when a key is set and plaintext row-level files remain; None when there are none."""
    try:
        if not encryption_on(Path(home)):
            return None
    except RiskboardError:  # a wrong or malformed key: the action itself says so
        return None
    left = plaintext_files(home)
    return PLAINTEXT_LEFT.format(count=len(left), first=left[0]) if left else None


def _remove_stale(home: Path) -> list[str]:
    removed = []
    for path in _temp_files(home):
        if path.name.startswith(erasure.TRASH_PREFIX):
            continue
        if time.time() - path.stat().st_mtime > STALE_S:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(home)))
    return removed


def encrypt_workspace(home: Path | str) -> Sweep:
    """Seal every row-level file still in plaintext (resumable); returns what was sealed, removed and left."""
    from core.data.store import DatasetStore  # pandas only for the sweep, not for the warning's scan

    home = Path(home)
    if not encryption_on(home):
        raise ConfigError(NO_KEY)
    sealed = DatasetStore(home).seal_plaintext()
    for folder in sorted((home / "runs").glob("*")):
        if folder.is_dir():
            arts = RunArtifacts(folder)
            sealed += [f"runs/{arts.run_id}/{name}" for name in arts.stored_names() if arts.seal_plaintext(name)]
    removed = _remove_stale(home)
    erasure.purge(home)
    left = plaintext_files(home)
    activity.append(home, "workspace_encrypted", "workspace", {"files": len(sealed), "removed": len(removed),
                                                               "left": len(left)})
    return Sweep(sealed=sealed, removed=removed, left=left)
