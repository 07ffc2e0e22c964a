"""Writing into the workspace safely: atomic files, and one typed error for a workspace that cannot be written.

* **Atomic**: a file is written to a temp file in the same folder, flushed and fsynced, then renamed over the
  target (``os.replace`` is atomic on POSIX), and the folder is fsynced so the rename survives a power cut. A crash
  at any point leaves either the old file or the new one, never half of one.
* **Shared by the team**: the workspace is meant to be shared by the people on one server, so files get the
  process umask's permissions (0644 by default), not ``mkstemp``'s private 0600.
* **Write failures** (read-only mount, someone else's files, a full disk, SQLite refusing to write) become one
  :class:`~core.errors.WorkspaceError` that names the folder and what to do, through :func:`workspace_errors`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from core.errors import WorkspaceError

NOT_WRITABLE = ("the workspace folder {folder} cannot be written ({why}); point RISKBOARD_HOME at a folder you can "
                "write, or fix its permissions. Reading existing runs still works.")
DISK_FULL = "the disk holding the workspace folder {folder} is full; free some space (or delete old runs) and retry."
WRITE_FAILED = "could not write into the workspace folder {folder} ({why}); check the disk and retry."

_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def workspace_error(exc: BaseException, folder: Path | str) -> WorkspaceError:
    """The user-facing :class:`WorkspaceError` for an ``OSError`` or SQLite error raised while writing ``folder``."""
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return WorkspaceError(DISK_FULL.format(folder=folder))
    if isinstance(exc, OSError) and exc.errno in _READ_ONLY_ERRNOS:
        return WorkspaceError(NOT_WRITABLE.format(folder=folder, why=exc.strerror or "permission denied"))
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        if "full" in text:
            return WorkspaceError(DISK_FULL.format(folder=folder))
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return WorkspaceError(NOT_WRITABLE.format(folder=folder, why="the run store is read-only"))
    why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return WorkspaceError(WRITE_FAILED.format(folder=folder, why=why))


@contextmanager
def workspace_errors(folder: Path | str) -> Iterator[None]:
    """Turn ``OSError``/SQLite ``OperationalError`` raised inside the block into :class:`WorkspaceError`."""
    try:
        yield
    except WorkspaceError:
        raise
    except (OSError, sqlite3.OperationalError) as exc:
        raise workspace_error(exc, folder) from exc


def ensure_dir(folder: Path) -> Path:
    """``mkdir -p`` with the process umask; a failure is a :class:`WorkspaceError` naming the folder."""
    with workspace_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - some file systems do not open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename), umask permissions."""
    path = Path(path)
    folder = ensure_dir(path.parent)
    tmp = folder / f".tmp-{path.name}-{secrets.token_hex(4)}"
    with workspace_errors(folder):
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the kernel applies the umask
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(folder)


def replace_wiping_old(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, then overwrite the old file's blocks with zeros.

    For turning a plaintext file into its sealed form: the old inode is held open across the rename, so the new
    file is safely in place before a single old byte is zeroed (a crash leaves the old or the new file, whole). The
    zeroing reaches the disk on ordinary file systems; copy-on-write file systems and SSD wear levelling may still
    keep old blocks, which only encrypting from the start (or full-disk encryption) rules out.
    """
    path = Path(path)
    with workspace_errors(path.parent):
        old = os.open(path, os.O_RDWR)
    try:
        atomic_write_bytes(path, data)
        with workspace_errors(path.parent):
            size = os.fstat(old).st_size
            zeros = bytes(min(size, 1 << 20))
            os.lseek(old, 0, os.SEEK_SET)
            for start in range(0, size, len(zeros) or 1):
                os.write(old, zeros[: size - start])
            os.fsync(old)
    finally:
        os.close(old)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``lock_path`` (created if needed) for a read-modify-write shared by processes."""
    with workspace_errors(lock_path.parent):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection: the write lock is
    taken before anything is read, so two processes cannot both act on the same state."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
