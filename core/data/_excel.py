"""Excel workbooks (.xlsx): the first sheet, streamed, within limits, with safe XML parsing.

Before any cell is read: the zip's total unpacked size is capped (zip bombs), and the sheet's declared
``<dimension>`` is checked against the row and column limits. openpyxl parses XML with defusedxml when it is
installed (``openpyxl.DEFUSEDXML``); a workbook is refused if that is switched off, and XML with entity
declarations (external entities, "billion laughs") is refused. ``data_only=True`` returns the values Excel cached
for formulas: nothing is ever evaluated, and a formula saved without a cached value reads as empty.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass

import pandas as pd
from defusedxml import DefusedXmlException

from core.config import Settings
from core.data import _limits, _preamble
from core.data._columns import assemble
from core.errors import EmptyInputError, InputError

MAX_ZIP_ENTRIES = 10_000
#: Fully empty rows (formatting only) read past the row limit before giving up.
BLANK_ROW_SLACK = 10_000
SAMPLE_ROWS = 100  # rows under a header candidate looked at to tell a title above the table from the table
_PROLOG_BYTES = 4096

XML_UNSAFE = ("The workbook's XML declares entities (a DTD), which can read files or exhaust memory; Riskboard "
              "refuses it. Open the file in Excel, save it again as .xlsx, or export it as CSV.")
NO_DEFUSEDXML = ("Excel files are read only with safe XML parsing (the defusedxml package, OPENPYXL_DEFUSEDXML not "
                 "'False'). Install defusedxml or upload a CSV instead.")
TOO_MANY_ENTRIES = "The workbook holds {count:,} files inside; that is not a normal .xlsx. Export the sheet as CSV."
NO_SHEET = "The workbook has no worksheet with cells. Upload a workbook whose first sheet holds the table."
EMPTY_SHEET = "The first sheet ({sheet!r}) is empty. Put the table on the first sheet: a header row, then data rows."
HEADER_ONLY = "The first sheet ({sheet!r}) has a header row but no data rows."
MORE_SHEETS = "only the first sheet ({sheet!r}) was read; the workbook also has {others}"
EMPTY_COLUMN = ("column {name!r} has no values; if it holds formulas, Riskboard does not compute them: open and save "
                "the file in Excel so their results are stored")


@dataclass(frozen=True)
class Workbook:
    frame: pd.DataFrame
    sheet: str
    warnings: list[str]


def _check_archive(data: bytes, settings: Settings) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise InputError(TOO_MANY_ENTRIES.format(count=len(entries)))
        _limits.check_unpacked_size(sum(e.file_size for e in entries), settings, "Excel workbook")
        for entry in entries:  # a DTD sits in the prolog: refuse it before any XML parser sees it
            if entry.filename.endswith((".xml", ".rels", ".vml")):
                with archive.open(entry) as member:
                    head = member.read(_PROLOG_BYTES).upper()
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise InputError(XML_UNSAFE)


def _trimmed(row: tuple) -> tuple:
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return row[:end]


def _rows(sheet, settings: Settings) -> tuple[list[tuple], list[int]]:
    """The non-empty rows, the header candidate first, stopping as soon as a limit is passed; and the sheet's row
    numbers of the first few (where a title or notes above the header may be)."""
    rows: list[tuple] = []
    numbers: list[int] = []
    for seen, raw in enumerate(sheet.iter_rows(values_only=True), start=1):
        if seen > settings.max_rows + 1 + BLANK_ROW_SLACK + _preamble.MAX_PREAMBLE_LINES:
            _limits.check_rows(seen, settings, at_least=True)
        row = _trimmed(raw)
        if not row:
            continue
        _limits.check_columns(len(row), settings)
        rows.append(row)
        if len(numbers) <= _preamble.MAX_PREAMBLE_LINES:
            numbers.append(seen)
        if len(rows) > settings.max_rows + 1 + _preamble.MAX_PREAMBLE_LINES:
            _limits.check_rows(len(rows) - 1, settings, at_least=True)
    return rows, numbers


def _at_most(header: int, record: int) -> bool:
    return record <= header  # trailing empty cells are not stored: a row may be shorter than its header


def _header_index(rows: list[tuple]) -> int:
    """How many rows above the header are a title or notes (the rule: :mod:`core.data._preamble`)."""
    widths = [len(r) for r in rows[:_preamble.MAX_PREAMBLE_LINES + 1 + SAMPLE_ROWS]]
    if not widths or _preamble.holds_together(widths[0], widths[1:1 + SAMPLE_ROWS], _at_most):
        return 0
    for k in range(1, min(_preamble.MAX_PREAMBLE_LINES, len(widths) - 1) + 1):
        decided = _preamble.verdict(widths[k], widths[k + 1:k + 1 + SAMPLE_ROWS], widths[:k], _at_most)
        if decided is not None:
            return k if decided else 0
    return 0


def read_xlsx(data: bytes, settings: Settings) -> Workbook:
    """Read the first worksheet of an .xlsx file held in ``data``."""
    import openpyxl  # here: a tenth of a second that reading a CSV or Parquet file does not need

    if not openpyxl.DEFUSEDXML:
        raise InputError(NO_DEFUSEDXML)
    _check_archive(data, settings)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not need here
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False,
                                          keep_vba=False)
            try:
                return _read_first_sheet(book, settings)
            finally:
                book.close()
    except Exception as exc:
        if _caused_by_defusedxml(exc):  # openpyxl wraps it in a ValueError
            raise InputError(XML_UNSAFE) from None
        raise


def _caused_by_defusedxml(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, DefusedXmlException):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _read_first_sheet(book, settings: Settings) -> Workbook:
    sheets = [s for s in book.worksheets if hasattr(s, "iter_rows")]
    if not sheets:
        raise InputError(NO_SHEET)
    sheet = sheets[0]
    notes = []
    others = [name for name in book.sheetnames if name != sheet.title]
    if others:
        listed = ", ".join(repr(n) for n in others[:5]) + (", ..." if len(others) > 5 else "")
        notes.append(MORE_SHEETS.format(sheet=sheet.title, others=f"{len(others)} more: {listed}"))
    # The declared size (the <dimension> element), checked before any row is read.
    if sheet.max_row is not None and sheet.max_column is not None:
        _limits.check_columns(sheet.max_column, settings)
        _limits.check_rows(sheet.max_row - (sheet.min_row or 1), settings)
    sheet.reset_dimensions()  # then rows are not padded to a (possibly false) declared width
    rows, numbers = _rows(sheet, settings)
    if not rows:
        raise EmptyInputError(EMPTY_SHEET.format(sheet=sheet.title))
    skipped = _header_index(rows)
    if skipped:
        notes.append(_preamble.warning([" ".join(str(v) for v in r if v not in (None, "")) for r in rows[:skipped]],
                                       numbers[skipped], unit="row"))
    header, rows = rows[skipped], rows[skipped + 1:]
    _limits.check_rows(len(rows), settings)
    if not rows:
        raise EmptyInputError(HEADER_ONLY.format(sheet=sheet.title))
    width = max(len(header), max(map(len, rows)))
    columns = [pd.Series([r[j] if j < len(r) else None for r in rows], dtype=object) for j in range(width)]
    names = list(header) + [None] * (width - len(header))
    frame, column_notes = assemble(columns, names)
    empty = [name for name in frame.columns if frame[name].isna().all()]
    empty_notes = [EMPTY_COLUMN.format(name=name) for name in empty]
    return Workbook(frame=frame, sheet=sheet.title, warnings=notes + column_notes + empty_notes)
