"""Parquet: limits checked from the footer metadata before any column is read."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.config import Settings
from core.data import _limits
from core.data._columns import assemble
from core.errors import EmptyInputError, InputError

NO_ROWS = "The Parquet file has no data rows."
NO_COLUMNS = "The Parquet file has no columns."
NOT_PARQUET = ("This is not a valid Parquet file: it may be truncated or damaged (an interrupted download or copy). "
               "Export or download it again and upload the new file.")
_UNNAMED_INDEX = re.compile(r"^__index_level_\d+__$")


def read_parquet(data: bytes, settings: Settings) -> tuple[pd.DataFrame, list[str]]:
    """Read every column of a Parquet file; a named pandas index is kept as the first column(s), an unnamed one
    (``__index_level_0__``) dropped."""
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:  # "Parquet magic bytes not found in footer"
        raise InputError(NOT_PARQUET) from exc  # the library's words stay chained for the server log
    meta = parquet.metadata
    names = parquet.schema_arrow.names
    _limits.check_columns(len(names), settings)
    _limits.check_rows(meta.num_rows, settings)
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    _limits.check_unpacked_size(unpacked, settings, "Parquet file")
    if not names:
        raise EmptyInputError(NO_COLUMNS)
    if meta.num_rows == 0:
        raise EmptyInputError(NO_ROWS)
    try:
        table = parquet.read(use_pandas_metadata=False)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:  # a valid footer over damaged column data
        raise InputError(NOT_PARQUET) from exc
    index = [c for c in (table.schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)]
    order = sorted(range(table.num_columns), key=lambda i: table.column_names[i] not in index)  # index first
    keep = [i for i in order if not _UNNAMED_INDEX.match(table.column_names[i])]
    columns = [_to_pandas(table.column(i)) for i in keep]
    return assemble(columns, [table.column_names[i] for i in keep])


def _to_pandas(column: pa.ChunkedArray) -> pd.Series:
    """One column as pandas without a Python object per cell where Arrow's type already says what it holds.

    A dictionary (pandas' categorical) is decoded to its value type, so a categorical of strings arrives as an
    Arrow-backed ``str`` column that :func:`core.data._columns.normalise_text` cleans with Arrow compute, exactly as
    a plain string column; converting it to a categorical of Python objects first costs a type check per cell.
    """
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column.to_pandas()
