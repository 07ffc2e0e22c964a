"""Size, row and column limits shared by every reader, with their user-facing messages."""

from __future__ import annotations

from core.config import Settings
from core.errors import FileTooLargeError

FILE_TOO_LARGE = (
    "The file is {size} but the upload limit is {limit} (setting RISKBOARD_MAX_UPLOAD_MB={mb:g}). Upload a smaller "
    "file, for example a sample of the rows, or raise the setting."
)
UNPACKED_TOO_LARGE = (
    "The {what} unpacks to more than {limit} (the upload limit, setting RISKBOARD_MAX_UPLOAD_MB={mb:g}, times "
    "{factor}). Upload a smaller file or a plain CSV."
)
TOO_MANY_ROWS = (
    "The table has {count} data rows but the limit is {limit:,} (setting RISKBOARD_MAX_ROWS). Upload a sample of "
    "the rows or raise the setting."
)
TOO_MANY_COLUMNS = (
    "The table has {count} columns but the limit is {limit:,} (setting RISKBOARD_MAX_COLUMNS). Drop the columns you "
    "do not need or raise the setting."
)

#: An archive (xlsx, parquet) may unpack to at most this many times the upload limit.
UNPACKED_FACTOR = 10


def human_size(n_bytes: float) -> str:
    """``1,234 bytes`` below one MB, ``12.3 MB`` above."""
    if n_bytes < 1024 * 1024:
        return f"{int(n_bytes):,} bytes"
    return f"{n_bytes / (1024 * 1024):,.1f} MB"


def check_file_size(n_bytes: int, settings: Settings) -> None:
    if n_bytes > settings.max_upload_bytes:
        raise FileTooLargeError(FILE_TOO_LARGE.format(size=human_size(n_bytes),
                                                      limit=human_size(settings.max_upload_bytes),
                                                      mb=settings.max_upload_mb))


def unpacked_cap(settings: Settings) -> int:
    """The most bytes an xlsx or parquet file may unpack to (zip bombs, huge dictionary pages)."""
    return UNPACKED_FACTOR * settings.max_upload_bytes


def check_unpacked_size(n_bytes: int, settings: Settings, what: str) -> None:
    cap = unpacked_cap(settings)
    if n_bytes > cap:
        raise FileTooLargeError(UNPACKED_TOO_LARGE.format(what=what, limit=human_size(cap), mb=settings.max_upload_mb,
                                                          factor=UNPACKED_FACTOR))


def check_rows(n_rows: int, settings: Settings, *, at_least: bool = False) -> None:
    """Refuse more than ``max_rows`` data rows; ``at_least`` when reading stopped early, so the count is a floor."""
    if n_rows > settings.max_rows:
        count = f"more than {settings.max_rows:,}" if at_least else f"{n_rows:,}"
        raise FileTooLargeError(TOO_MANY_ROWS.format(count=count, limit=settings.max_rows))


def check_columns(n_columns: int, settings: Settings, *, at_least: bool = False) -> None:
    if n_columns > settings.max_columns:
        count = f"at least {n_columns:,}" if at_least else f"{n_columns:,}"
        raise FileTooLargeError(TOO_MANY_COLUMNS.format(count=count, limit=settings.max_columns))
