"""The master key (``RISKBOARD_DATA_KEY`` / ``RISKBOARD_DATA_KEY_FILE``) and the workspace's keyring of data keys.

Envelope encryption: every dataset and every run has its own random 256-bit data key; the keyring
(``<home>/keyring.json``) keeps each data key wrapped (AES-GCM) under the master key, together with the master
key's fingerprint. The master key itself is never stored in the workspace. Consequences:

* **Rotation** re-wraps the data keys under a new master key; no data file is rewritten.
* **Crypto-shredding**: deleting a data key from the keyring makes every copy of that dataset's or run's files
  unreadable, including copies in backups of the files made without the keyring's entry.
* **A wrong or missing key** is found from the fingerprint before anything is written.

The keyring is changed under an exclusive file lock and rewritten atomically, so two processes creating keys at once
both keep theirs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from core import jsonsafe
from core.errors import ConfigError, EncryptionError
from core.security.crypto import SealError, fingerprint, unwrap_key, wrap_key
from core.storage import atomic_write_bytes, ensure_dir, file_lock

KEYRING = "keyring.json"
_LOCK = ".keyring.lock"
FORMAT = "riskboard.keyring"
_KEY_ID = re.compile(r"(dataset|run)-[0-9A-Za-z_-]{1,80}")

BAD_KEY = ("{source} is not a data key: it must be 32 random bytes written as base64 (44 characters); make one with "
           "`python -m core keys new`.")
KEY_FILE_UNREADABLE = "RISKBOARD_DATA_KEY_FILE={path} cannot be read ({why}); check the path and its permissions."
KEY_MISSING = ("this workspace is encrypted (master key fingerprint {expected}); set RISKBOARD_DATA_KEY or "
               "RISKBOARD_DATA_KEY_FILE to that key. Nothing was read or written.")
KEY_WRONG = ("the data key set has fingerprint {given}, but this workspace is encrypted with the key of fingerprint "
             "{expected}; set RISKBOARD_DATA_KEY or RISKBOARD_DATA_KEY_FILE to that key. Nothing was read or written.")
KEYRING_DAMAGED = "the keyring {path} is damaged ({why}); restore it from a backup. Nothing was read or written."


def decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(BAD_KEY.format(source=source)) from None
    if len(key) != 32:
        raise ConfigError(BAD_KEY.format(source=source))
    return key


def new_master_key() -> str:
    """A fresh master key as base64 text (32 bytes from the operating system's random source)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def read_key_file(path: Path | str) -> bytes:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(KEY_FILE_UNREADABLE.format(path=path, why=getattr(exc, "strerror", None) or exc)) from None
    return decode_key(text, f"the file {path}")


def master_key() -> bytes | None:
    """The master key from the environment, or None when no key is set (the workspace is then not encrypted)."""
    raw = os.environ.get("RISKBOARD_DATA_KEY", "").strip()
    if raw:
        return decode_key(raw, "RISKBOARD_DATA_KEY")
    path = os.environ.get("RISKBOARD_DATA_KEY_FILE", "").strip()
    return read_key_file(Path(path).expanduser()) if path else None


def validate_key_id(key_id: str) -> str:
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"{key_id!r} is not a data key id")
    return key_id


class Keyring:
    """The wrapped data keys of one workspace, opened with the master key from the environment (or ``master``)."""

    def __init__(self, home: Path | str, master: bytes | None) -> None:
        self.home = Path(home)
        self.path = self.home / KEYRING
        self.master = master

    def _read(self) -> dict | None:
        try:
            body = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise EncryptionError(KEYRING_DAMAGED.format(path=self.path, why=type(exc).__name__)) from None
        if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(body.get("keys"), dict):
            raise EncryptionError(KEYRING_DAMAGED.format(path=self.path, why="not a keyring"))
        return body

    def expected_fingerprint(self) -> str | None:
        body = self._read()
        return None if body is None or not body.get("master_fingerprint") else str(body["master_fingerprint"])

    def encrypted(self) -> bool:
        """True when this workspace has a keyring (it was written with a key)."""
        return self.path.is_file()

    def check_master(self, body: dict | None = None) -> bytes:
        """The master key, after checking it is the workspace's; :class:`EncryptionError` naming the fingerprints."""
        body = self._read() if body is None else body
        expected = None if body is None or not body.get("master_fingerprint") else str(body["master_fingerprint"])
        if self.master is None:
            raise EncryptionError(KEY_MISSING.format(expected=expected or "unknown"))
        given = fingerprint(self.master)
        if expected is not None and given != expected:
            raise EncryptionError(KEY_WRONG.format(given=given, expected=expected))
        return self.master

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        ensure_dir(self.home)
        return file_lock(self.home / _LOCK)

    def _write(self, body: dict) -> None:
        atomic_write_bytes(self.path, jsonsafe.dumps(body, indent=1).encode("utf-8"))

    def data_key(self, key_id: str, *, create: bool) -> bytes | None:
        """The data key ``key_id`` (made and stored when ``create`` and absent); None when absent (shredded)."""
        validate_key_id(key_id)
        entry = (self._read() or {}).get("keys", {}).get(key_id)
        if entry is None and create:
            with self._locked():
                body = self._read() or {"format": FORMAT, "version": 1, "keys": {}}
                master = self.check_master(body)
                body["master_fingerprint"] = fingerprint(master)
                entry = body["keys"].get(key_id)
                if entry is None:
                    wrapped = wrap_key(secrets.token_bytes(32), master, key_id)
                    entry = {"wrapped": base64.b64encode(wrapped).decode("ascii"),
                             "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
                    body["keys"][key_id] = entry
                    self._write(body)
        if entry is None:
            return None
        master = self.check_master()
        try:
            return unwrap_key(base64.b64decode(entry["wrapped"]), master, key_id)
        except (SealError, KeyError, ValueError, TypeError) as exc:
            raise EncryptionError(KEYRING_DAMAGED.format(path=self.path, why=f"key {key_id} does not open")) from exc

    def key_ids(self) -> list[str]:
        return sorted((self._read() or {}).get("keys", {}))

    def destroy(self, key_ids: list[str]) -> list[str]:
        """Remove data keys (crypto-shredding); returns the ids that were present. Needs no master key."""
        if not self.path.is_file():
            return []
        with self._locked():
            body = self._read()
            if body is None:
                return []
            gone = [k for k in key_ids if body["keys"].pop(k, None) is not None]
            if gone:
                self._write(body)
        return gone

    def rotate(self, new_master: bytes) -> int:
        """Re-wrap every data key under ``new_master`` (checked: the current key must open them all first)."""
        with self._locked():
            body = self._read()
            if body is None:
                body = {"format": FORMAT, "version": 1, "keys": {}}
            else:
                self.check_master(body)
            rewrapped = {}
            for key_id, entry in body["keys"].items():
                try:
                    key = unwrap_key(base64.b64decode(entry["wrapped"]), self.master, key_id)  # type: ignore[arg-type]
                except (SealError, KeyError, ValueError, TypeError) as exc:
                    raise EncryptionError(KEYRING_DAMAGED.format(path=self.path,
                                                                 why=f"key {key_id} does not open")) from exc
                wrapped = wrap_key(key, new_master, key_id)
                rewrapped[key_id] = entry | {"wrapped": base64.b64encode(wrapped).decode("ascii")}
            body["keys"] = rewrapped
            body["master_fingerprint"] = fingerprint(new_master)
            body["rotated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            self._write(body)
        self.master = new_master
        return len(rewrapped)
