"""Chunked AES-256-GCM for files at rest, with the file's identity bound into every chunk.

Layout of a sealed file::

    MAGIC (8 bytes) | header length (4 bytes, big-endian) | header JSON | chunk 0 | chunk 1 | ...
    chunk = nonce (12 random bytes) | ciphertext | tag (16 bytes)

The header names the data key (``key``) and the plaintext chunk size. Each chunk's associated data is the SHA-256
of the header, the file's identity (its path inside the workspace, such as ``runs/<id>/model.safetensors``), the
chunk's index and a last-chunk flag: a chunk moved to another place, another file or another position, a file
renamed over another, or a file cut after a whole chunk all fail authentication. Nonces are random per chunk;
with a data key per dataset or run and 1 MiB chunks, the 2**32 messages per key that random 96-bit nonces allow
are far away. Chunking keeps the work per call bounded and streams large tables without a second full copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"RBSEAL1\n"
CHUNK = 1 << 20
NONCE = 12
TAG = 16
_LEN = struct.Struct(">I")
_AD_TAIL = struct.Struct(">QB")


class SealError(Exception):
    """Raised for a sealed file that does not authenticate (internal; callers name the file in a user error)."""


def is_sealed(data: bytes) -> bool:
    return data[: len(MAGIC)] == MAGIC


def is_plain_file(path) -> bool:
    """True when ``path`` is a file that does not start as a sealed file does (written before a key was set)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) != MAGIC
    except (FileNotFoundError, IsADirectoryError):
        return False


def _associated(header_digest: bytes, file_id: str, index: int, last: bool) -> bytes:
    return header_digest + file_id.encode("utf-8") + b"\0" + _AD_TAIL.pack(index, int(last))


def seal(data: bytes | memoryview, key: bytes, key_id: str, file_id: str, *, chunk: int = CHUNK) -> bytes:
    """Encrypt ``data`` under ``key`` (32 bytes) as a sealed file that only opens at ``file_id``."""
    header = json.dumps({"v": 1, "key": key_id, "chunk": chunk}, sort_keys=True).encode("utf-8")
    digest = hashlib.sha256(header).digest()
    aes = AESGCM(key)
    view = memoryview(data)
    count = max(1, -(-len(view) // chunk))
    parts = [MAGIC, _LEN.pack(len(header)), header]
    for index in range(count):
        nonce = os.urandom(NONCE)
        piece = view[index * chunk:(index + 1) * chunk]
        parts.append(nonce)
        parts.append(aes.encrypt(nonce, piece, _associated(digest, file_id, index, index == count - 1)))
    return b"".join(parts)


def header_of(data: bytes) -> dict:
    """The sealed file's header (``key``, ``chunk``); :class:`SealError` when it is not a readable sealed file."""
    if not is_sealed(data) or len(data) < len(MAGIC) + _LEN.size:
        raise SealError("not a sealed file")
    (size,) = _LEN.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LEN.size
    try:
        header = json.loads(data[start:start + size])
        if not isinstance(header, dict) or not isinstance(header.get("key"), str) or int(header["chunk"]) < 1:
            raise ValueError
    except (ValueError, KeyError, TypeError) as exc:
        raise SealError("damaged header") from exc
    return header


def open_sealed(data: bytes, key: bytes, file_id: str) -> bytes:
    """Decrypt a sealed file; :class:`SealError` when any chunk was altered, moved, cut or comes from elsewhere."""
    header = header_of(data)
    (size,) = _LEN.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LEN.size
    digest = hashlib.sha256(data[start:start + size]).digest()
    step = int(header["chunk"]) + NONCE + TAG
    body = memoryview(data)[start + size:]
    count = max(1, -(-len(body) // step))
    aes = AESGCM(key)
    out = []
    try:
        for index in range(count):
            piece = body[index * step:(index + 1) * step]
            if len(piece) < NONCE + TAG:
                raise SealError("truncated")
            out.append(aes.decrypt(piece[:NONCE], piece[NONCE:],
                                   _associated(digest, file_id, index, index == count - 1)))
    except InvalidTag as exc:
        raise SealError("does not authenticate") from exc
    return b"".join(out)


def wrap_key(data_key: bytes, master: bytes, key_id: str) -> bytes:
    """The data key encrypted under the master key, bound to its id (a wrapped key cannot be moved to another id)."""
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(master).encrypt(nonce, data_key, b"riskboard-data-key\0" + key_id.encode("utf-8"))


def unwrap_key(wrapped: bytes, master: bytes, key_id: str) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE], wrapped[NONCE:],
                                      b"riskboard-data-key\0" + key_id.encode("utf-8"))
    except InvalidTag as exc:
        raise SealError("wrapped key does not authenticate") from exc


def fingerprint(master: bytes) -> str:
    """A short public name for a master key (16 hex digits of a SHA-256 over a fixed label and the key)."""
    return hashlib.sha256(b"riskboard-master-key-fingerprint\0" + master).hexdigest()[:16]
