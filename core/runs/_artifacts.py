"""A run's artifact folder: atomic writes, a SHA-256 manifest, and reads that name a damaged file.

Every file a run keeps (weights, preprocessing, split, scores, evaluation, and cached analyses such as SHAP values
or audits) is written through :class:`RunArtifacts`. Each write is atomic (:func:`core.storage.atomic_write_bytes`)
and then recorded in ``manifest.json`` (name, size, SHA-256). Each read checks the file against the manifest before
parsing it, so a truncated ``model.safetensors``, a hand-edited ``evaluation.json`` or a missing file is an
:class:`~core.errors.ArtifactError` that names the file and says what to do, never a ``JSONDecodeError`` or
``SafetensorError`` on screen. A crash between a file's rename and its manifest entry leaves the file unlisted,
which reads as damaged: the run did not finish writing it.

Runs written before manifests existed have no ``manifest.json``; their files are read and parsed without a hash
check, and a file that does not parse is still an :class:`ArtifactError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core import jsonsafe
from core.errors import ArtifactError
from core.runs._host import CLAIM_FILE
from core.security.at_rest import open_bytes, run_key_id, seal_bytes
from core.security.crypto import is_sealed
from core.storage import atomic_write_bytes, ensure_dir, file_lock, replace_wiping_old, workspace_errors

if TYPE_CHECKING:  # pandas is imported where a table is read, so listing runs does not pay for it
    import pandas as pd

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "riskboard.manifest"
_LOCK = ".manifest.lock"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

DAMAGED = "this run's files are damaged: {names}; retrain the run or delete it."
FOLDER_MISSING = ("the files of run {run_id} are missing (its folder was deleted or moved); retrain the run or "
                  "delete it.")
BAD_NAME = "artifact names are plain file names (letters, digits, '.', '_', '-'); got {name!r}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name == MANIFEST:
        raise ValueError(BAD_NAME.format(name=name))
    return name


class RunArtifacts:
    """The files of one run, in ``folder``. Cheap to construct; holds no open file."""

    def __init__(self, folder: Path | str, run_id: str | None = None) -> None:
        self.folder = Path(folder)
        self.run_id = run_id or self.folder.name

    def __repr__(self) -> str:
        return f"RunArtifacts({str(self.folder)!r})"

    # -- manifest -------------------------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.folder.is_dir()

    def require_folder(self) -> None:
        if not self.folder.is_dir():
            raise ArtifactError(FOLDER_MISSING.format(run_id=self.run_id))

    def manifest(self) -> dict[str, dict[str, Any]] | None:
        """``{name: {"size", "sha256"}}``, or None for a run written before manifests (or with none yet)."""
        path = self.folder / MANIFEST
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ArtifactError(DAMAGED.format(names=MANIFEST)) from exc
        try:
            body = json.loads(text)
            files = body["files"]
            if not isinstance(files, dict):
                raise TypeError("files is not an object")
            return {str(k): dict(v) for k, v in files.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArtifactError(DAMAGED.format(names=MANIFEST)) from exc

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        """An exclusive lock on the run's manifest, so two processes adding files never lose an entry."""
        return file_lock(self.folder / _LOCK)

    def _record(self, name: str, entry: dict[str, Any] | None) -> None:
        with self._locked():
            self._record_locked(self.manifest() or {}, name, entry)

    def _record_locked(self, files: dict[str, dict[str, Any]], name: str, entry: dict[str, Any] | None) -> None:
        if entry is None:
            files.pop(name, None)
        else:
            files[name] = entry
        body = {"format": MANIFEST_FORMAT, "version": 1, "run_id": self.run_id, "files": dict(sorted(files.items()))}
        atomic_write_bytes(self.folder / MANIFEST, jsonsafe.dumps(body, indent=1).encode("utf-8"))

    # -- writing ----------------------------------------------------------------------------------------------------

    # -- encryption at rest (core.security.at_rest): the stored bytes are sealed when a data key is set ---------------

    def _file_id(self, name: str) -> str:
        return f"runs/{self.run_id}/{name}"

    def _seal(self, name: str, data: bytes) -> bytes:
        return seal_bytes(self.folder.parent.parent, run_key_id(self.run_id), self._file_id(name), data)

    def _open(self, name: str, stored: bytes) -> bytes:
        return open_bytes(self.folder.parent.parent, self._file_id(name), stored)

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write one file atomically and list it (size, SHA-256 of the stored, possibly sealed, bytes)."""
        _check_name(name)
        stored = self._seal(name, data)
        ensure_dir(self.folder)
        atomic_write_bytes(self.folder / name, stored)
        self._record(name, {"size": len(stored), "sha256": sha256_bytes(stored)})

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, payload: Any) -> None:
        """Strict JSON (non-finite floats become null), indented so a person can read it."""
        self.write_bytes(name, jsonsafe.dumps(payload, indent=1).encode("utf-8"))

    def write_parquet(self, name: str, frame: pd.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self.write_bytes(name, buffer.getvalue())

    def write_array(self, name: str, array: np.ndarray) -> None:
        """One numpy array in ``.npy`` form (no pickled objects: plain dtypes only), compact and fast to read."""
        if array.dtype.hasobject:
            raise TypeError(f"{name}: arrays of Python objects are not stored")
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        self.write_bytes(name, buffer.getvalue())

    def stored_names(self) -> list[str]:
        """The run's own files on disk (the manifest, locks, claims and temp files left out)."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir()
                      if p.is_file() and p.name != MANIFEST and p.name != CLAIM_FILE and _NAME.fullmatch(p.name))

    def seal_plaintext(self, name: str) -> bool:
        """Seal a file written before a key was set, in place (atomic, the old plaintext zeroed) and re-list it;
        True when it was rewritten. Safe to repeat after an interruption: a sealed file whose listing is stale (the
        sweep stopped between the file and the manifest) is listed again once it authenticates."""
        _check_name(name)
        path = self.folder / name
        with self._locked():
            files = self.manifest()
            entry = None if files is None else files.get(name)
            with workspace_errors(self.folder):
                stored = path.read_bytes()
            if is_sealed(stored):
                if entry is not None and entry.get("sha256") != sha256_bytes(stored):
                    self._open(name, stored)  # authenticates, or raises naming the file
                    self._record_locked(files, name, {"size": len(stored), "sha256": sha256_bytes(stored)})
                return False
            if entry is not None and entry.get("sha256") != sha256_bytes(stored):
                raise ArtifactError(DAMAGED.format(names=name))
            sealed = self._seal(name, stored)
            replace_wiping_old(path, sealed)
            if files is not None:
                self._record_locked(files, name, {"size": len(sealed), "sha256": sha256_bytes(sealed)})
        return True

    def discard(self, name: str) -> None:
        """Remove a file and its manifest entry (a damaged cache that will be recomputed)."""
        _check_name(name)
        with workspace_errors(self.folder):
            (self.folder / name).unlink(missing_ok=True)
        if self.manifest() is not None:
            self._record(name, None)

    # -- reading ----------------------------------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """True when the file is present and listed (or present, for a run without a manifest)."""
        _check_name(name)
        if not (self.folder / name).is_file():
            return False
        files = self.manifest()
        return files is None or name in files

    def read_bytes(self, name: str) -> bytes:
        """The file's bytes after checking size and SHA-256 against the manifest; ArtifactError if they differ."""
        _check_name(name)
        self.require_folder()
        try:
            data = (self.folder / name).read_bytes()
        except OSError as exc:
            raise ArtifactError(DAMAGED.format(names=name)) from exc
        files = self.manifest()
        if files is not None:
            entry = files.get(name)
            if entry is None or entry.get("size") != len(data) or entry.get("sha256") != sha256_bytes(data):
                raise ArtifactError(DAMAGED.format(names=name))
        return self._open(name, data)

    def read_text(self, name: str) -> str:
        try:
            return self.read_bytes(name).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArtifactError(DAMAGED.format(names=name)) from exc

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.read_text(name))
        except ValueError as exc:
            raise ArtifactError(DAMAGED.format(names=name)) from exc

    def read_parquet(self, name: str) -> pd.DataFrame:
        import pandas as pd

        data = self.read_bytes(name)
        try:
            return pd.read_parquet(io.BytesIO(data))
        except Exception as exc:
            raise ArtifactError(DAMAGED.format(names=name)) from exc

    def read_array(self, name: str) -> np.ndarray:
        """The array :meth:`write_array` stored, checked against the manifest; never unpickles."""
        data = self.read_bytes(name)
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ArtifactError(DAMAGED.format(names=name)) from exc

    def damaged(self, required: tuple[str, ...] = ()) -> list[str]:
        """Names of files that are missing or do not match the manifest (``required`` must be present too)."""
        if not self.folder.is_dir():
            return list(required) or [self.folder.name]
        try:
            files = self.manifest()
        except ArtifactError:
            return [MANIFEST]
        bad: list[str] = []
        names = list(dict.fromkeys([*(files or {}), *required]))
        for name in names:
            path = self.folder / name
            if not path.is_file():
                bad.append(name)
            elif files is not None:
                entry = files.get(name)
                if (entry is None or entry.get("size") != path.stat().st_size
                        or entry.get("sha256") != sha256_file(path)):
                    bad.append(name)
        return bad

    def damaged_error(self, names: list[str]) -> ArtifactError:
        return ArtifactError(DAMAGED.format(names=", ".join(names)))
