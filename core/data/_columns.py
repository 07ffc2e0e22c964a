"""Column names and cell values, shared by every reader.

Names: surrounding whitespace is stripped, an empty name becomes ``column_<n>`` (1-based position) and duplicates
become ``name (2)``, ``name (3)``; each change is reported as a warning. Names are otherwise kept verbatim (HTML,
``=HYPERLINK(...)``, emoji are data; escaping them is the renderer's job).

Text cells: surrounding whitespace is stripped and the tokens in :data:`NA_TOKENS` become missing. A text column
becomes numeric only when *every* non-missing value is a finite number; when most (at least
:data:`MOSTLY_NUMERIC` of them) are numbers and a few are not, the column stays text and a warning names the
column, the count and examples, so nothing is silently turned into NaN.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

T = TypeVar("T")
R = TypeVar("R")

#: Cell texts read as missing. ``None``/``none`` and ``-`` are *not* here: they are real categories in common data
#: sets (German credit's ``other_parties=none``). ``?`` is: it is the UCI convention for a missing value.
NA_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A", "<NA>", "?"})

#: Share of numbers above which a column with a few non-numbers is reported instead of silently kept as text.
MOSTLY_NUMERIC = 0.9
_SAMPLE = 2000
_PARALLEL_CELLS = 1_000_000
_CODE_PATTERN = r"^(?:0\d|[+-]?\d{16,}$)"  # leading zeros (zip codes) or more digits than a float holds
#: ``1.234,5`` / ``-12.345.678`` / ``3,5`` / ``12``: '.' only groups thousands (in threes), ',' is the decimal point.
_GROUPED_DECIMAL_COMMA = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"

NOT_NUMBERS = ("column {name!r}: {bad:,} of {total:,} values are not numbers ({examples}); it is kept as text — fix "
               "or clear those cells to use it as a number")
LEADING_ZEROS = ("column {name!r}: values such as {example!r} start with a zero, so it is kept as text (a code, not "
                 "an amount)")
LONG_DIGITS = ("column {name!r}: values such as {example!r} have more digits than a number holds exactly, so it is "
               "kept as text")
DECIMAL_COMMA = "column {name!r}: read ',' as the decimal point (for example {example!r} -> {value!r})"
GROUPED_DECIMAL_COMMA = ("column {name!r}: read '.' as a thousands separator and ',' as the decimal point (for "
                         "example {example!r} -> {value!r})")
UNNAMED = "{count} column(s) had no name and are named by position: {names}"
DUPLICATES = "duplicate column names were made unique: {pairs}"
ODD_VALUES = "column {name!r} holds lists, bytes or other objects; they are kept as text"


def _name_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def clean_names(raw: Sequence[object]) -> tuple[list[str], list[str]]:
    """Return usable, unique ``str`` names for ``raw`` header cells, and warnings describing every change."""
    names: list[str] = []
    unnamed: list[str] = []
    for position, value in enumerate(raw, start=1):
        name = _name_text(value).strip()
        if not name:
            name = f"column_{position}"
            unnamed.append(name)
        names.append(name)
    original = set(names)
    used: set[str] = set()
    result: list[str] = []
    renamed: list[str] = []
    for name in names:
        new, k = name, 2
        while new in used or (new != name and new in original):  # never take a name another column has
            new = f"{name} ({k})"
            k += 1
        used.add(new)
        result.append(new)
        if new != name:
            renamed.append(f"{name!r} -> {new!r}")
    warnings = []
    if unnamed:
        warnings.append(UNNAMED.format(count=len(unnamed), names=", ".join(repr(n) for n in unnamed[:10])
                                       + (", ..." if len(unnamed) > 10 else "")))
    if renamed:
        warnings.append(DUPLICATES.format(pairs=", ".join(renamed[:10]) + (", ..." if len(renamed) > 10 else "")))
    return result, warnings


def _arrow(series: pd.Series) -> pa.ChunkedArray:
    """``series`` (str dtype) as an Arrow string array: zero-copy for pandas' Arrow-backed ``str``."""
    if isinstance(series.array, pd.arrays.ArrowStringArray):
        array = pa.array(series.array)
    else:
        array = pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.large_string(), from_pandas=True)
    array = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
    return array if pa.types.is_large_string(array.type) or pa.types.is_string(array.type) else array.cast(
        pa.large_string())


def _cast_number(array: pa.ChunkedArray, *, try_int: bool = True) -> np.ndarray | None:
    """All values as float64, or int64 when ``try_int``, nothing is missing and every value is whole; ``None`` if
    any value is not a finite number. (Whole numbers past 2**53 never get here: 16+ digits are kept as text.)"""
    try:
        values = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if np.isinf(values).any() or int(np.isnan(values).sum()) != array.null_count:  # "inf", "-nan" are not numbers
        return None
    if try_int and array.null_count == 0 and np.array_equal(values, np.trunc(values)) and (
            len(values) == 0 or np.abs(values).max() < 2**53):
        return values.astype(np.int64)
    return values


def _examples(values: pd.Series, limit: int = 3) -> str:
    return ", ".join(repr(str(v)) for v in pd.unique(values.to_numpy(dtype=object))[:limit])


def _share_of_numbers(values: pd.Series) -> float:
    parsed = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return float(np.isfinite(parsed).mean()) if len(parsed) else 0.0


def _clean(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """Strip surrounding whitespace and turn :data:`NA_TOKENS` into nulls."""
    stripped = pc.utf8_trim_whitespace(array)
    tokens = pa.array(sorted(NA_TOKENS), type=stripped.type)
    return pc.if_else(pc.is_in(stripped, value_set=tokens), pa.scalar(None, stripped.type), stripped)


def _code_example(array: pa.ChunkedArray) -> str | None:
    """A value with a leading zero (``02134``) or 16+ digits, which a float would change; ``None`` if none."""
    candidates = array.filter(pc.or_(pc.starts_with(array, "0"), pc.greater_equal(pc.utf8_length(array), 16)))
    if len(candidates) == 0:
        return None
    hits = candidates.filter(pc.match_substring_regex(candidates, _CODE_PATTERN))
    return hits[0].as_py() if len(hits) else None


def _as_numbers(array: pa.ChunkedArray, name: str, text: pd.Series, *,
                try_int: bool = True) -> tuple[pd.Series, list[str]] | None:
    """``array`` as numbers when every value is one (codes with leading zeros kept as text), else ``None``."""
    values = _cast_number(array, try_int=try_int)
    if values is None:
        return None
    example = _code_example(array) if try_int else None  # codes are whole numbers: "02134", "4111111111111111"
    if example is not None:
        template = LEADING_ZEROS if example.lstrip("+-").startswith("0") else LONG_DIGITS
        return text, [template.format(name=name, example=example)]
    return pd.Series(values, index=text.index, name=text.name), []


def normalise_text(series: pd.Series, name: str, *, decimal_comma: bool = False) -> tuple[pd.Series, list[str]]:
    """Strip, map :data:`NA_TOKENS` to missing, and turn all-number columns into numbers (see module docstring)."""
    array = _clean(_arrow(series if pd.api.types.is_string_dtype(series.dtype) else series.astype("str")))
    text = pd.Series(array.to_pandas(), index=series.index, name=series.name)
    present = array.drop_null()
    total = len(present)
    if total == 0:
        return text, []
    # A random sample screens word columns cheaply (a failed Arrow cast still scans the whole column).
    if total > _SAMPLE:
        picks = np.random.default_rng(0).integers(0, total, _SAMPLE)
        sample = pd.Series(present.take(pa.array(picks)).to_pylist(), dtype="str")
    else:
        sample = pd.Series(present.to_pylist(), dtype="str")
    share = _share_of_numbers(sample)
    if share == 1.0:
        result = _as_numbers(array, name, text, try_int=bool(sample.str.fullmatch(r"[+-]?\d+").all()))
        if result is not None:
            return result
    if (decimal_comma and share < 1.0 and sample.str.contains(",", regex=False).any()
            and _share_of_numbers(sample.str.replace(",", ".", regex=False)) == 1.0
            and not pc.any(pc.match_substring(array, ".")).as_py()):
        result = _as_numbers(pc.replace_substring(array, ",", "."), name, text, try_int=False)
        if result is not None:
            example = str(text[text.str.contains(",", regex=False, na=False)].iloc[0])
            value = float(example.replace(",", "."))
            return result[0], [DECIMAL_COMMA.format(name=name, example=example, value=value)]
    if (decimal_comma and share < 1.0 and sample.str.contains(",", regex=False).any()
            and sample.str.fullmatch(_GROUPED_DECIMAL_COMMA).all()
            and pc.all(pc.match_substring_regex(present, _GROUPED_DECIMAL_COMMA.join("^$"))).as_py()):
        grouped = pc.replace_substring(pc.replace_substring(array, ".", ""), ",", ".")
        result = _as_numbers(grouped, name, text, try_int=False)
        if result is not None:
            example = str(text[text.str.contains(".", regex=False, na=False)].iloc[0])
            value = float(example.replace(".", "").replace(",", "."))
            return result[0], [GROUPED_DECIMAL_COMMA.format(name=name, example=example, value=value)]
    if share < 0.5:
        return text, []
    values = present.to_pandas()
    numbers_ = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(numbers_)
    n_bad = int(bad.sum())
    if n_bad and (total - n_bad) / total >= MOSTLY_NUMERIC:
        return text, [NOT_NUMBERS.format(name=name, bad=n_bad, total=total, examples=_examples(values[bad]))]
    return text, []


def _kind_of(kind: type) -> str:
    """What values of the Python type ``kind`` are: decided once per type, not once per cell."""
    if issubclass(kind, bool | np.bool_):
        return "bool"
    if issubclass(kind, numbers.Number | decimal.Decimal):
        return "number"
    if issubclass(kind, str):
        return "str"
    if issubclass(kind, dt.datetime | dt.date | np.datetime64):
        return "datetime"
    if issubclass(kind, dt.time | dt.timedelta):
        return "other"
    return "odd"


def _kinds(present: pd.Series) -> set[str]:
    """The kinds of value in a column of Python objects: the distinct types are collected in C (``set(map(type,
    ...))``) and each type is classified once, so a million cells of a few types cost a few checks."""
    if isinstance(present.dtype, pd.CategoricalDtype):
        used = np.unique(present.cat.codes.to_numpy())
        values = present.cat.categories.to_numpy(dtype=object)[used[used >= 0]]
    else:
        values = present.to_numpy(dtype=object)
    return {_kind_of(kind) for kind in set(map(type, values))}


def _text_of(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def normalise_values(series: pd.Series, name: str) -> tuple[pd.Series, list[str]]:
    """Normalise a column of Python objects (Excel cells, object columns of Parquet) like :func:`normalise_text`.

    One type throughout keeps it: numbers become numeric, booleans ``bool`` (``boolean`` with missing values),
    dates ``datetime64``, strings go through :func:`normalise_text`. A mix becomes text first, so a number column
    with a few words in it is reported the same way as in a CSV.
    """
    present = series.dropna()
    kinds = _kinds(present)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
        present = series.dropna()
    if not kinds or kinds == {"str"}:
        return normalise_text(series, name)
    if kinds == {"number"}:
        values = pd.to_numeric(series.astype(object))
        return (values.astype(float) if values.dtype == object else values), []
    if kinds == {"bool"}:
        return series.astype(bool if len(present) == len(series) else "boolean"), []
    if kinds == {"datetime"}:
        try:
            return pd.to_datetime(series), []
        except (ValueError, TypeError):
            pass  # mixed time zones: keep the text
    text, warnings = normalise_text(series.map(_text_of).astype("str"), name)
    if "odd" in kinds:
        warnings.insert(0, ODD_VALUES.format(name=name))
    return text, warnings


def normalise_column(series: pd.Series, name: str, *, decimal_comma: bool = False) -> tuple[pd.Series, list[str]]:
    """Text and object columns are normalised; numeric, boolean and datetime columns are kept as they are."""
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return normalise_text(series, name, decimal_comma=decimal_comma)
    if pd.api.types.is_object_dtype(series.dtype) or isinstance(series.dtype, pd.CategoricalDtype):
        return normalise_values(series, name)
    return series, []


def assemble(columns: Sequence[pd.Series], raw_names: Sequence[object], *,
             decimal_comma: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Name, normalise and join ``columns`` into one frame with a fresh ``RangeIndex``.

    Large tables are normalised a few columns at a time in threads (Arrow compute releases the GIL); the result
    and the order of the warnings do not depend on it.
    """
    names, warnings = clean_names(raw_names)

    def one(item: tuple[str, pd.Series]) -> tuple[pd.Series, list[str]]:
        name, column = item
        return normalise_column(column.reset_index(drop=True), name, decimal_comma=decimal_comma)

    results = map_columns(one, list(zip(names, columns, strict=True)), sum(len(c) for c in columns))
    data = {}
    for name, (values, notes) in zip(names, results, strict=True):
        data[name] = values.rename(name)
        warnings.extend(notes)
    # copy=False: the columns are fresh arrays already; consolidating them into 2-D blocks copies the whole table
    frame = pd.DataFrame(data, copy=False) if data else pd.DataFrame(index=pd.RangeIndex(0))
    return frame, warnings


def map_columns(work: Callable[[T], R], items: Sequence[T], cells: int) -> list[R]:
    """``[work(item) for item in items]``, a few columns at a time in threads once the table has
    :data:`_PARALLEL_CELLS` cells (Arrow compute and numpy sorts release the GIL); the order is kept."""
    if cells >= _PARALLEL_CELLS and len(items) > 1:
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1, len(items))) as pool:
            return list(pool.map(work, items))
    return [work(item) for item in items]
