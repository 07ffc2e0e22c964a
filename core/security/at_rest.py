"""The one encrypt/decrypt point for files at rest: every dataset and run file passes through :func:`seal_bytes`
on its way to disk and :func:`open_bytes` on its way back.

Without a master key (and without a keyring) both are the identity: a workspace without a key works as before.
With a key, a file is sealed under its owner's data key (``dataset-<id>`` or ``run-<id>``) and bound to its path
inside the workspace. Files written before the key was set stay readable as they are. Every failure is an
:class:`~core.errors.EncryptionError` naming the file or the key fingerprint, raised before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import EncryptionError
from core.security.crypto import SealError, fingerprint, header_of, is_sealed, open_sealed, seal
from core.security.keys import KEY_MISSING, Keyring, master_key

TAMPERED = ("{file} failed its integrity check: it was altered, truncated or swapped with another file; restore it "
            "from a backup, or delete the dataset or run it belongs to.")
SHREDDED = ("{file} cannot be read: its data key was destroyed when its dataset or run was deleted; delete what is "
            "left with `python -m core datasets purge`.")


def keyring(home: Path) -> Keyring:
    return Keyring(home, master_key())


def dataset_key_id(dataset_id: str) -> str:
    return f"dataset-{dataset_id}"


def run_key_id(run_id: str) -> str:
    return f"run-{run_id}"


def encryption_on(home: Path) -> bool:
    """True when files written now are sealed (a key is set); raises when the workspace needs a key that is not."""
    ring = keyring(home)
    if ring.master is None:
        if ring.encrypted():
            raise EncryptionError(KEY_MISSING.format(expected=ring.expected_fingerprint()))
        return False
    ring.check_master()
    return True


def seal_bytes(home: Path, key_id: str, file_id: str, data: bytes) -> bytes:
    """What to store for ``data`` at ``<home>/<file_id>``: sealed with the data key ``key_id`` when a key is set."""
    ring = keyring(home)
    if ring.master is None:
        if ring.encrypted():  # never write plaintext into an encrypted workspace
            raise EncryptionError(KEY_MISSING.format(expected=ring.expected_fingerprint()))
        return data
    key = ring.data_key(key_id, create=True)
    if key is None:  # pragma: no cover - create=True makes the key when it is absent
        raise EncryptionError(SHREDDED.format(file=file_id))
    return seal(data, key, key_id, file_id)


def open_bytes(home: Path, file_id: str, data: bytes) -> bytes:
    """The plaintext of a stored file (a plain file comes back as it is)."""
    if not is_sealed(data):
        return data
    try:
        key_id = header_of(data)["key"]
    except SealError:
        raise EncryptionError(TAMPERED.format(file=file_id)) from None
    ring = keyring(home)
    if ring.master is None:
        raise EncryptionError(KEY_MISSING.format(expected=ring.expected_fingerprint() or "unknown"))
    try:
        key = ring.data_key(key_id, create=False)
    except ValueError:
        raise EncryptionError(TAMPERED.format(file=file_id)) from None
    if key is None:
        raise EncryptionError(SHREDDED.format(file=file_id))
    try:
        return open_sealed(data, key, file_id)
    except SealError:
        raise EncryptionError(TAMPERED.format(file=file_id)) from None


def master_fingerprint() -> str | None:
    key = master_key()
    return None if key is None else fingerprint(key)
