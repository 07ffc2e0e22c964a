"""Read an uploaded table from bytes into a typed DataFrame, or raise a typed, user-facing error.

:func:`read_table` takes the bytes and the file's name (used only to guess the format; never opened as a path).

Format: magic bytes win over the extension — ``PAR1`` is Parquet, a zip with ``xl/workbook.xml`` is Excel,
``1f 8b`` is gzip (unpacked, at most up to the upload limit, then detected again: ``adult.csv.gz``; a gzip file whose
inner name has no extension, ``data.gz``, is read as delimited text unless its magic bytes say otherwise). Otherwise
the extension decides: ``.csv``/``.txt`` delimited text, ``.tsv``/``.tab`` tab-first, ``.parquet``/``.pq``,
``.xlsx``/``.xlsm``. Anything else (``.xls``, ``.json``, ...) raises :class:`UnsupportedFormatError`.

Limits (:mod:`core.config`): the file size is checked before parsing; the row and column limits before reading
the body where the format declares them (CSV header, Parquet footer, Excel ``<dimension>``), and while reading.

Delimited text: UTF-8 (a BOM is removed), UTF-16 with BOM, else Windows-1252 / latin-1 with a warning; the delimiter
is sniffed among ``,`` ``;`` tab ``|`` (Excel's ``sep=;`` first line, when present, names it); a row with more
fields than the header is an error naming its line, a shorter row is padded with missing cells, and rows with no
value at all are skipped (with a warning). A title or notes above the header, in text or on an Excel sheet, are
left out with a warning naming them and the header's line (the rule: :mod:`core.data._preamble`).

Values (every format): surrounding whitespace is stripped and ``""``, ``NA``, ``N/A``, ``n/a``, ``NaN``, ``nan``,
``NULL``, ``null``, ``#N/A``, ``<NA>``, ``?`` are missing (``None`` and ``-`` are kept: they are real
categories in common data sets). A column is numeric only when every non-missing value is a finite number; one
with a few non-numbers is kept as text with a warning naming them; numbers with leading zeros or 16+ digits
(codes, ids) stay text; in ``;``-delimited files ``3,5`` reads as 3.5 when no value has a ``.``, and ``1.234,5``
as 1234.5 when every ``.`` groups thousands (each change a warning). Dates stay text
(:mod:`core.data.schema` detects them), except typed dates in Excel and Parquet.

Column names: see :func:`core.data._columns.clean_names` (stripped, ``column_<n>`` for empty, ``name (2)`` for
duplicates, each change a warning; otherwise verbatim).
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from dataclasses import dataclass, field

import pandas as pd

from core.config import Settings, get_settings
from core.data import _limits
from core.data._delimited import EMPTY_FILE, read_delimited
from core.data._excel import read_xlsx
from core.data._parquet import read_parquet
from core.errors import EmptyInputError, FileTooLargeError, InputError, RiskboardError, UnsupportedFormatError

FORMATS = ("csv", "tsv", "parquet", "xlsx")
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
              ".xlsx": "xlsx", ".xlsm": "xlsx"}
_LABELS = {"csv": "CSV", "tsv": "TSV", "parquet": "Parquet", "xlsx": "Excel (.xlsx)"}
_GZIP_EXTENSIONS = (".gz", ".gzip")
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

SUPPORTED = ("Upload a CSV (.csv, .txt), TSV (.tsv), Parquet (.parquet, .pq) or Excel (.xlsx) file, optionally "
             "gzip-compressed (.csv.gz).")
UNSUPPORTED = "Riskboard cannot read {what}. " + SUPPORTED
OLD_EXCEL = ("an old-style (.xls) or password-protected Excel workbook; save it as .xlsx without a password, or as "
             "CSV")
NOT_WORKBOOK = "a zip archive that is not an Excel workbook; unzip it and upload the table inside"
WRONG_CONTENT = ("The file is named {ext} but its content is not {label} (it does not start like one). Check that "
                 "you picked the right file, or save it again as {label}.")
BAD_GZIP = "The file looks gzip-compressed but cannot be unpacked ({detail}). Upload it again or uncompressed."
NESTED_GZIP = "a file compressed twice with gzip; unpack it once and upload it again"
UNREADABLE = "The file cannot be read as {label}: {detail}. Check that it opens in a spreadsheet program."
OUT_OF_MEMORY = ("The file is too large to read in the memory available. Upload a sample of the rows, or lower "
                 "RISKBOARD_MAX_UPLOAD_MB / RISKBOARD_MAX_ROWS so such files are refused up front.")


@dataclass(frozen=True)
class IngestResult:
    """A parsed table: the frame, the format it was read as, and what the reader changed or noticed."""

    frame: pd.DataFrame
    format: str
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None  # text formats: the codec used ("utf-8", "cp1252", "latin-1")
    delimiter: str | None = None  # text formats
    sheet: str | None = None  # Excel: the sheet read
    compression: str | None = None  # "gzip" when the upload was gzip-compressed


def _extension(filename: str) -> str:
    return os.path.splitext(filename.strip().lower())[1]


def _gunzip(data: bytes, settings: Settings) -> bytes:
    limit = settings.max_upload_bytes
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            unpacked = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(BAD_GZIP.format(detail=str(exc) or type(exc).__name__)) from None
    if len(unpacked) > limit:
        raise FileTooLargeError(_limits.UNPACKED_TOO_LARGE.format(
            what="gzip file", limit=_limits.human_size(limit), mb=settings.max_upload_mb, factor=1))
    return unpacked


def _is_workbook(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise InputError(UNREADABLE.format(label="a zip archive (.xlsx)", detail="the archive is damaged")) from None
    return "xl/workbook.xml" in names


def detect_format(data: bytes, filename: str) -> str:
    """One of :data:`FORMATS`, from magic bytes first, then the extension."""
    ext = _extension(filename)
    if data.startswith(PARQUET_MAGIC):
        return "parquet"
    if data.startswith(ZIP_MAGICS):
        if _is_workbook(data):
            return "xlsx"
        raise UnsupportedFormatError(UNSUPPORTED.format(what=NOT_WORKBOOK))
    if data.startswith(OLE_MAGIC):
        raise UnsupportedFormatError(UNSUPPORTED.format(what=OLD_EXCEL))
    if data.startswith(GZIP_MAGIC):
        raise UnsupportedFormatError(UNSUPPORTED.format(what=NESTED_GZIP))
    fmt = EXTENSIONS.get(ext)
    if fmt in ("parquet", "xlsx"):
        raise InputError(WRONG_CONTENT.format(ext=ext, label=_LABELS[fmt]))
    if fmt is None:
        what = f"'{ext}' files" if ext else "a file without an extension"
        if ext == ".xls":
            what = OLD_EXCEL
        raise UnsupportedFormatError(UNSUPPORTED.format(what=what))
    return fmt


def read_table(data: bytes, filename: str, *, settings: Settings | None = None) -> IngestResult:
    """Parse an uploaded file's bytes into a DataFrame (see the module docstring for every rule).

    Raises :class:`FileTooLargeError`, :class:`EmptyInputError`, :class:`UnsupportedFormatError` or
    :class:`InputError`, each with a message for the user; never a parser's own exception.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"read_table needs the file's bytes, not {type(data).__name__}")
    settings = settings or get_settings()
    filename = str(filename or "")
    data = bytes(data)
    _limits.check_file_size(len(data), settings)
    if not data:
        raise EmptyInputError(EMPTY_FILE)
    compression = None
    if data.startswith(GZIP_MAGIC):
        data, compression = _gunzip(data, settings), "gzip"
        stem, ext = os.path.splitext(filename)
        filename = stem if ext.lower() in _GZIP_EXTENSIONS else filename
        if not _extension(filename):  # "data.gz": a compressed table whose name gives no format; sniff it as text
            filename = f"{filename}.csv"
        if not data:
            raise EmptyInputError(EMPTY_FILE)
    fmt = None
    try:
        fmt = detect_format(data, filename)
        return _read(data, fmt, settings, compression)
    except RiskboardError:
        raise
    except MemoryError:
        raise FileTooLargeError(OUT_OF_MEMORY) from None
    except Exception as exc:  # a parser's own error, reworded for the user; the cause stays chained for logs
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200].rstrip(".")
        label = _LABELS[fmt] if fmt else "a table"
        raise InputError(UNREADABLE.format(label=label, detail=detail)) from exc


def _read(data: bytes, fmt: str, settings: Settings, compression: str | None) -> IngestResult:
    if fmt == "parquet":
        frame, notes = read_parquet(data, settings)
        return IngestResult(frame=frame, format=fmt, warnings=notes, compression=compression)
    if fmt == "xlsx":
        book = read_xlsx(data, settings)
        return IngestResult(frame=book.frame, format=fmt, warnings=book.warnings, sheet=book.sheet,
                            compression=compression)
    text = read_delimited(data, settings, prefer_tab=fmt == "tsv")
    return IngestResult(frame=text.frame, format="tsv" if text.delimiter == "\t" else "csv", warnings=text.warnings,
                        encoding=text.encoding, delimiter=text.delimiter, compression=compression)
