"""Delimited text (CSV, TSV): encoding, delimiter sniffing and a bounded, all-text parse.

The header row is parsed with the csv module before the body is read, so a file with too many columns is
refused before any parsing, and at most ``max_rows + 1`` data rows are read (Arrow's streaming reader, stopped
early; pandas' C parser with ``nrows`` where Arrow cannot: odd quotes, rows of another width). Every cell is read
as text (no NA filtering) and typed later by :mod:`core.data._columns`, so no column is silently turned into NaN.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from core.config import Settings
from core.data import _limits, _preamble
from core.data._columns import NA_TOKENS, assemble
from core.errors import EmptyInputError, InputError
from core.text import plural

DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFF_BYTES = 64 * 1024
MAX_SNIFF_BYTES = 1024 * 1024
SNIFF_RECORDS = 100
_CHUNK = 1024 * 1024
#: Excel's delimiter hint, a first line ``sep=;`` (any of :data:`DELIMITERS`); its line ending is dropped with it.
_SEP_HINT = re.compile(rb'^"?sep=([,;\t|])"?[ \t]*(?:\r\n|\r|\n)', re.IGNORECASE)

EMPTY_FILE = "The file is empty. Upload a table with a header row and at least one data row."
HEADER_ONLY = "The file has a header row but no data rows. Upload a table with at least one data row."
BINARY_TEXT = ("The file holds binary data, not text, so it cannot be read as CSV. Upload a CSV, TSV, Parquet or "
               "Excel (.xlsx) file.")
NOT_UTF16 = "The file starts like UTF-16 text but cannot be decoded as UTF-16. Save it as UTF-8 CSV and upload again."
RAGGED = ("Line {line} has {found} fields but the header has {expected}. Check that line for a {delimiter} inside a "
          "value that is not in double quotes, or a header that is missing a column name.")
RAGGED_NO_LINE = ("A row has more fields than the header ({detail}). Check for a delimiter inside a value that is not "
                  "in double quotes, or a header that is missing a column name.")
UNCLOSED_QUOTE = ("A value that starts with a double quote {where}is never closed. Check the file for a stray \" "
                  "character.")
BLANK_ROWS = "{count} with no values (every cell empty or missing) {verb} skipped"
NOT_UTF8 = ("The file is not UTF-8; it was read as {encoding}. If accented letters look wrong, save the file as "
            "UTF-8 and upload it again.")


@dataclass(frozen=True)
class Delimited:
    frame: pd.DataFrame
    delimiter: str
    encoding: str
    warnings: list[str]


def _decodes(data: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(data[start:start + _CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data: bytes) -> tuple[bytes, str, list[str]]:
    """Return the bytes to parse (BOM removed, UTF-16 re-encoded as UTF-8), the codec for them, and warnings.

    The codec is ``utf-8`` when the bytes are UTF-8 (with or without BOM), else ``cp1252`` (Windows Western, a
    superset of latin-1 for printable text) where that decodes, else ``latin-1``, which decodes any bytes.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):], "utf-8", []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-8", []
        except UnicodeDecodeError:
            raise InputError(NOT_UTF16) from None
    if b"\x00" in data[:SNIFF_BYTES]:
        raise InputError(BINARY_TEXT)
    if _decodes(data, "utf-8"):
        return data, "utf-8", []
    for encoding, label in (("cp1252", "Windows-1252 (Western European)"), ("latin-1", "latin-1")):
        if encoding == "latin-1" or _decodes(data, encoding):
            return data, encoding, [NOT_UTF8.format(encoding=label)]
    raise AssertionError("unreachable: latin-1 decodes any bytes")  # pragma: no cover


def _records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    try:
        return list(itertools.islice((r for r in reader if any(field.strip() for field in r)), SNIFF_RECORDS + 1))
    except csv.Error:
        return []


@dataclass(frozen=True)
class Sniffed:
    """The delimiter chosen, the header's fields, whether the header was read whole, and the field counts of the
    first records under the header."""

    delimiter: str
    header: list[str]
    header_whole: bool
    below: tuple[int, ...]


def sniff(data: bytes, encoding: str, *, prefer_tab: bool = False, only: str | None = None) -> Sniffed:
    """Choose the delimiter whose field counts agree best with the header over the first records.

    Candidates are ranked by (header has 2+ fields, share of records with the header's field count, number of
    header fields, preference order); quotes are respected by the csv module. A file where no candidate splits the
    header is one column. ``only`` restricts the candidates to one delimiter (Excel's ``sep=`` hint line).
    """
    size = SNIFF_BYTES
    while True:
        prefix = data[:size]
        complete = len(data) <= size
        if not complete:
            cut = prefix.rfind(b"\n")
            if cut < 0 and size < MAX_SNIFF_BYTES:
                size *= 4
                continue
            prefix = prefix[:cut + 1] if cut >= 0 else prefix
        break
    text = prefix.decode(encoding, errors="replace")
    order = ("\t", ",", ";", "|") if prefer_tab else DELIMITERS
    order = (only,) if only else order
    best: tuple | None = None
    for rank, delimiter in enumerate(order):
        records = _records(text, delimiter)
        if not complete and len(records) > 1:
            records = records[:-1]  # the last record may be cut in the middle
        if not records:
            continue
        header = records[0]
        rest = records[1:]
        agree = sum(len(r) == len(header) for r in rest) / len(rest) if rest else 1.0
        key = (len(header) > 1, agree, len(header), -rank)
        if best is None or key > best[0]:
            best = (key, delimiter, header, tuple(map(len, rest)))
    if best is None:
        raise EmptyInputError(EMPTY_FILE)
    return Sniffed(delimiter=best[1], header=best[2], header_whole=complete or b"\n" in prefix, below=best[3])


def _same_width(header: int, record: int) -> bool:
    return header == record


def _line_ends(data: bytes, limit: int) -> list[int]:
    """Byte offsets just past each of the first non-blank lines (at most ``limit``), within the sniffed prefix."""
    ends, start = [], 0
    prefix = data[:SNIFF_BYTES]
    while len(ends) < limit:
        cut = prefix.find(b"\n", start)
        if cut < 0:
            break
        if prefix[start:cut].strip():
            ends.append(cut + 1)
        start = cut + 1
    return ends


def skip_preamble(data: bytes, encoding: str, *, prefer_tab: bool = False,
                  only: str | None = None) -> tuple[bytes, int, Sniffed]:
    """Find the header under a title or notes above the table (the rule: :mod:`core.data._preamble`); returns the
    data from the header on, the number of lines left out and the sniff. Each candidate header is sniffed afresh:
    a note with a comma must not decide the delimiter of a semicolon table."""
    first = sniff(data, encoding, prefer_tab=prefer_tab, only=only)
    if _preamble.holds_together(len(first.header), first.below, _same_width):
        return data, 0, first
    ends = _line_ends(data, _preamble.MAX_PREAMBLE_LINES + 1)
    for end in ends[:-1]:
        while (cut := data.find(b"\n", end)) >= 0 and not data[end:cut].strip():
            end = cut + 1  # blank lines between the notes and the header go with the notes
        rest = data[end:]
        try:
            found = sniff(rest, encoding, prefer_tab=prefer_tab, only=only)
        except EmptyInputError:
            break
        above = [len(r) for r in _records(data[:end].decode(encoding, errors="replace"), found.delimiter)]
        decided = _preamble.verdict(len(found.header), found.below, above, _same_width)
        if decided is not None:
            if decided:
                return rest, data[:end].count(b"\n"), found
            break
    return data, 0, first


def _ragged_line(data: bytes, encoding: str, delimiter: str, expected: int) -> tuple[int, int] | None:
    """The 1-based line where the first record with more than ``expected`` fields starts, and its field count."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(stream, delimiter=delimiter, quotechar='"', doublequote=True)
    previous = 0
    try:
        for record in reader:
            if len(record) > expected:
                return previous + 1, len(record)
            previous = reader.line_num
    except csv.Error:
        return None
    return None


def _record_line(data: bytes, encoding: str, delimiter: str, index: int) -> int | None:
    """The 1-based line where record ``index`` starts (0-based, blank lines counted, as pandas reports it)."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(stream, delimiter=delimiter, quotechar='"', doublequote=True)
    previous, seen = 0, 0
    try:
        for _record in reader:
            if seen == index:
                return previous + 1
            seen += 1
            previous = reader.line_num
    except csv.Error:
        return None
    return None


def _parser_error(exc: Exception, data: bytes, encoding: str, delimiter: str, expected: int,
                  lines_before: int = 0) -> InputError:
    """The parser's complaint in the user's terms, with line numbers of the whole file (``lines_before`` lines
    were left out above the header)."""
    detail = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
    if "EOF inside string" in detail or "EOF while" in detail:
        row = re.search(r"starting at row (\d+)", detail)
        line = _record_line(data, encoding, delimiter, int(row.group(1))) if row else None
        line = None if line is None else line + lines_before
        return InputError(UNCLOSED_QUOTE.format(where=f"on line {line} " if line else ""))
    if re.search(r"Expected \d+ fields", detail):
        found = _ragged_line(data, encoding, delimiter, expected)
        if found is not None:
            return InputError(RAGGED.format(line=found[0] + lines_before, found=found[1], expected=expected,
                                            delimiter=_DELIMITER_NAMES.get(delimiter, repr(delimiter))))
        return InputError(RAGGED_NO_LINE.format(detail=detail.removeprefix("Error tokenizing data. C error: ")))
    return InputError(f"The file cannot be read as delimited text: {detail}")


def _read_arrow(data: bytes, encoding: str, delimiter: str, n_columns: int,
                settings: Settings) -> list[pa.ChunkedArray] | None:
    """The fast path: Arrow's streaming CSV reader, all columns as text, stopping past the row limit.

    ``None`` (use pandas) when the file has an odd number of quotes (Arrow would read an unclosed quote to the end
    of the file without a word), or rows of another width than the header (pandas pads short rows, and names the
    line of a long one), or anything else Arrow refuses.
    """
    if data.count(b'"') % 2:
        return None
    try:
        reader = pa_csv.open_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, encoding=encoding, block_size=4 << 20),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                              newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{i}": pa.large_string() for i in range(n_columns)},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        if len(reader.schema) != n_columns:
            return None
        batches, rows = [], 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows > settings.max_rows + 1:
                break
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return [table.column(i) for i in range(n_columns)]


def _from_arrow(columns: list[pa.ChunkedArray]) -> pd.DataFrame:
    return pd.DataFrame({i: column.to_pandas() for i, column in enumerate(columns)})


def _blank_rows(body: pd.DataFrame) -> np.ndarray | None:
    """Rows whose every cell is empty or a missing token (``,,,`` rows from spreadsheet exports); ``None`` if none.

    Each column is only looked at on the rows still blank so far, so a normal table costs about one column's pass.
    """
    blank = np.ones(len(body), dtype=bool)
    for i in range(body.shape[1]):
        rows = np.flatnonzero(blank)
        if len(rows) == 0:
            return None
        cells = body.iloc[rows, i].str.strip()
        blank[rows] = (cells.isna() | cells.isin(NA_TOKENS)).to_numpy()
    return blank if blank.any() else None


def _separator_hint(data: bytes) -> tuple[bytes, str | None]:
    """Excel's ``sep=;`` first line (written by its CSV export in some locales): the rest of the data and that
    delimiter, or the data unchanged and ``None``."""
    match = _SEP_HINT.match(data[:64])
    if match is None:
        return data, None
    return data[match.end():], match.group(1).decode("ascii")


def read_delimited(data: bytes, settings: Settings, *, prefer_tab: bool = False) -> Delimited:
    """Parse CSV/TSV bytes into a typed frame within ``settings``' limits."""
    data, encoding, warnings = detect_encoding(data)
    data, hinted = _separator_hint(data)
    if not data[:SNIFF_BYTES].strip() and not data[SNIFF_BYTES:].strip():
        raise EmptyInputError(EMPTY_FILE)
    whole = data
    data, lines_before, sniffed = skip_preamble(data, encoding, prefer_tab=prefer_tab, only=hinted)
    delimiter, header, header_whole = sniffed.delimiter, sniffed.header, sniffed.header_whole
    if lines_before:
        notes = [line.strip() for line in whole[:len(whole) - len(data)].decode(encoding, errors="replace")
                 .splitlines() if line.strip()]
        warnings.append(_preamble.warning(notes, lines_before + 1))
    _limits.check_columns(len(header), settings, at_least=not header_whole)
    arrow = _read_arrow(data, encoding, delimiter, len(header), settings) if header_whole else None
    if arrow is not None:
        raw = _from_arrow(arrow)
    else:
        try:
            raw = pd.read_csv(io.BytesIO(data), sep=delimiter, header=None, dtype=str, na_filter=False,
                              encoding=encoding, nrows=settings.max_rows + 2, engine="c", quotechar='"',
                              doublequote=True, skip_blank_lines=True)
        except pd.errors.EmptyDataError:
            raise EmptyInputError(EMPTY_FILE) from None
        except pd.errors.ParserError as exc:
            raise _parser_error(exc, data, encoding, delimiter, len(header), lines_before) from exc
    _limits.check_columns(raw.shape[1], settings)
    if raw.empty:
        raise EmptyInputError(EMPTY_FILE)
    if len(raw) == 1:
        raise EmptyInputError(HEADER_ONLY)
    _limits.check_rows(len(raw) - 1, settings, at_least=True)
    body = raw.iloc[1:]
    blank = _blank_rows(body)
    if blank is not None:
        body = body[~blank]
        n_blank = int(blank.sum())
        warnings.append(BLANK_ROWS.format(count=plural(n_blank, "row"), verb="was" if n_blank == 1 else "were"))
        if body.empty:
            raise EmptyInputError(HEADER_ONLY)
    frame, notes = assemble([body[c] for c in body.columns], raw.iloc[0].tolist(), decimal_comma=delimiter == ";")
    return Delimited(frame=frame, delimiter=delimiter, encoding=encoding, warnings=warnings + notes)
