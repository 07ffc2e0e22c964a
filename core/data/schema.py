"""Schema inference: what kind of data each column holds, and what to warn the user about.

Kinds, decided in this order for each column (``n`` = non-missing values, ``unique`` = distinct non-missing):

1. ``empty``: every value is missing.
2. ``constant``: one distinct value (missing cells aside).
3. ``boolean``: exactly two distinct values that are booleans (``bool`` dtype), the numbers 0 and 1, or text
   pairs true/false, yes/no, y/n, t/f, 0/1 (any case). Other two-valued columns (``M``/``F``, ``>50K``/``<=50K``)
   are ``categorical``.
4. ``datetime``: a datetime dtype, or text where at least :data:`DATE_SHARE` of a sample looks like a date
   (``2020-01-31``, ``31/01/2020``, ``2020-01-31T10:00``...) and parses as one.
5. ``id``: an identifier, to leave out of the features. Whole numbers: every value different, ``n >= ``
   :data:`ID_MIN_ROWS`, and a name like ``id``/``customer_id``/``CustomerID`` or values that look like a row
   number (their range is at most twice ``n``). Text: every value different and ``n >=`` :data:`ID_MIN_ROWS`
   (unless it is long free text), or an id-like name and more than :data:`ID_NAME_UNIQUE_SHARE` distinct.
6. ``numeric``: any other number column.
7. ``text``: free text: mean length over :data:`TEXT_MIN_LENGTH` characters and more than half the values distinct.
8. ``categorical``: everything else.

Each :class:`ColumnInfo` carries its warnings (all missing, one value, identifier, one value per row, over
:data:`HIGH_MISSING` missing, over :data:`HIGH_CARDINALITY` levels); :class:`DatasetSchema` adds table-level ones.
:func:`leakage_candidates` names columns that give the target away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from core.data._columns import map_columns
from core.errors import SpecError
from core.text import plural

SCHEMA_VERSION = 1
DATE_SHARE = 0.95
ID_MIN_ROWS = 20
ID_NAME_UNIQUE_SHARE = 0.95
TEXT_MIN_LENGTH = 30
HIGH_MISSING = 0.5
HIGH_CARDINALITY = 100
FEW_ROWS = 50
_SAMPLE = 2000
_BOOL_PAIRS = ({"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"}, {"0", "1"}, {"0.0", "1.0"})
_ID_NAME = re.compile(r"(?:^|[\W_])(?:id|uuid|guid|key|index|idx)$", re.IGNORECASE)
_ID_CAMEL = re.compile(r"[a-z](?:Id|ID)$")
_DATE = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?"
                   r"(?:\.\d+)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?$")

W_EMPTY = "every value is missing; leave it out"
W_CONSTANT = "has a single value ({value}); it cannot help a model"
W_ID = "looks like an identifier (every value is different); leave it out of the features"
W_PER_ROW = "every row has a different value, so a model cannot learn from it"
W_MISSING = "{share:.0%} of the values are missing"
W_CARDINALITY = "{count:,} different values; consider grouping rare values or leaving it out"
W_FEW_ROWS = "only {rows}; results on so few rows are mostly noise"
W_WIDE = "more columns ({columns:,}) than rows ({rows:,}); a model will overfit"
NO_COLUMN = "There is no column named {name!r}. The columns are: {names}."


class Kind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"
    CONSTANT = "constant"
    TEXT = "text"
    EMPTY = "empty"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    kind: Kind
    dtype: str
    missing: float  # share of missing cells, 0..1
    unique: int  # distinct non-missing values
    examples: list[str] = field(default_factory=list)  # up to 5 distinct non-missing values
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": str(self.kind), "dtype": self.dtype, "missing": self.missing,
                "unique": self.unique, "examples": list(self.examples), "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnInfo:
        return cls(name=str(data["name"]), kind=Kind(data["kind"]), dtype=str(data["dtype"]),
                   missing=float(data["missing"]), unique=int(data["unique"]),
                   examples=[str(v) for v in data.get("examples", [])],
                   warnings=[str(v) for v in data.get("warnings", [])])


@dataclass(frozen=True)
class DatasetSchema:
    rows: int
    columns: list[ColumnInfo]
    warnings: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnInfo:
        """The column called ``name``; :class:`SpecError` if there is none."""
        for info in self.columns:
            if info.name == name:
                return info
        listed = ", ".join(repr(n) for n in self.names[:20]) + (", ..." if len(self.columns) > 20 else "")
        raise SpecError(NO_COLUMN.format(name=name, names=listed))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: only str, int, float and lists/dicts of them."""
        return {"version": SCHEMA_VERSION, "rows": self.rows, "columns": [c.to_dict() for c in self.columns],
                "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSchema:
        """Inverse of :meth:`to_dict`; ``ValueError`` for a dict of another shape or version."""
        try:
            if int(data.get("version", SCHEMA_VERSION)) != SCHEMA_VERSION:
                raise ValueError(f"schema version {data['version']!r} is not {SCHEMA_VERSION}")
            return cls(rows=int(data["rows"]), columns=[ColumnInfo.from_dict(c) for c in data["columns"]],
                       warnings=[str(w) for w in data.get("warnings", [])])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a dataset schema: {exc!r}") from exc


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def _as_text(present: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(present.dtype) and not pd.api.types.is_object_dtype(present.dtype):
        return present
    return present.map(str).astype("str")


def _sample(present: pd.Series) -> pd.Series:
    if len(present) <= _SAMPLE:
        return present
    return present.iloc[np.random.default_rng(0).integers(0, len(present), _SAMPLE)]


def _looks_like_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name.strip()) or _ID_CAMEL.search(name.strip()))


def _is_bool(series: pd.Series, present: pd.Series, unique: int) -> bool:
    if unique != 2:
        return False
    if pd.api.types.is_bool_dtype(series.dtype):
        return True
    if _is_number(series):
        return set(pd.unique(present).tolist()) == {0, 1}
    values = {str(v).strip().lower() for v in pd.unique(present.to_numpy(dtype=object))}
    return values in _BOOL_PAIRS


def _is_date_text(sample: pd.Series) -> bool:
    if sample.empty or not sample.str.match(_DATE).mean() >= DATE_SHARE:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= DATE_SHARE)


def _integer_valued(present: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(present.dtype):
        return True
    values = present.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _kind(name: str, series: pd.Series, present: pd.Series, unique: int) -> Kind:
    n = len(present)
    if n == 0:
        return Kind.EMPTY
    if unique <= 1:
        return Kind.CONSTANT
    if _is_bool(series, present, unique):
        return Kind.BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return Kind.DATETIME
    all_distinct = unique == n and n >= ID_MIN_ROWS
    if _is_number(series):
        if all_distinct and _integer_valued(present):
            span = float(present.max()) - float(present.min()) + 1
            if _looks_like_id_name(name) or span <= 2 * n:
                return Kind.ID
        if _looks_like_id_name(name) and unique / n > ID_NAME_UNIQUE_SHARE and _integer_valued(present):
            return Kind.ID
        return Kind.NUMERIC
    sample = _as_text(_sample(present))
    if _is_date_text(sample):
        return Kind.DATETIME
    lengths = sample.str.len()
    long_text = lengths.mean() > TEXT_MIN_LENGTH and unique / n > 0.5
    spaced = sample.str.contains(r"\s", regex=True).mean() >= 0.5
    if all_distinct and not (long_text and spaced):
        return Kind.ID
    if long_text:
        return Kind.TEXT
    if _looks_like_id_name(name) and unique / n > ID_NAME_UNIQUE_SHARE:
        return Kind.ID
    return Kind.CATEGORICAL


def _examples(present: pd.Series, unique: int) -> list[str]:
    values = pd.unique(present.iloc[:5000].to_numpy(dtype=object))[:5]
    if len(values) < min(5, unique):
        values = pd.unique(present.to_numpy(dtype=object))[:5]
    return [str(v) for v in values]


def _count_distinct(present: pd.Series) -> int:
    """Distinct values of a column without missing cells. Plain numpy numbers are sorted (numpy's vectorised sort
    is several times faster than hashing a million floats); other dtypes use pandas' hash table."""
    if isinstance(present.dtype, np.dtype) and present.dtype.kind in "iuf":
        return len(np.unique(present.to_numpy()))
    return int(present.nunique(dropna=True))


def describe_column(name: str, series: pd.Series) -> ColumnInfo:
    """The :class:`ColumnInfo` of one column (see the module docstring for the rules)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    present = series.dropna()
    try:
        unique = _count_distinct(present)
    except TypeError:  # unhashable objects (lists, dicts): describe their text
        series = series.map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        series = series.astype("str")
        present = series.dropna()
        unique = int(present.nunique(dropna=True))
    rows = len(series)
    kind = _kind(name, series, present, unique)
    missing = float((rows - len(present)) / rows) if rows else 0.0
    warnings = []
    if kind == Kind.EMPTY:
        warnings.append(W_EMPTY)
    elif kind == Kind.CONSTANT:
        warnings.append(W_CONSTANT.format(value=repr(str(present.iloc[0]))))
    elif kind == Kind.ID:
        warnings.append(W_ID)
    elif kind == Kind.CATEGORICAL and unique == len(present) and unique > 1:
        warnings.append(W_PER_ROW)
    if kind != Kind.EMPTY and missing > HIGH_MISSING:
        warnings.append(W_MISSING.format(share=missing))
    if kind == Kind.CATEGORICAL and unique > HIGH_CARDINALITY:
        warnings.append(W_CARDINALITY.format(count=unique))
    return ColumnInfo(name=str(name), kind=kind, dtype=str(series.dtype), missing=missing, unique=unique,
                      examples=_examples(present, unique), warnings=warnings)


def infer_schema(frame: pd.DataFrame) -> DatasetSchema:
    """Describe every column of ``frame`` and the table as a whole."""
    rows, n_columns = frame.shape
    columns = map_columns(lambda i: describe_column(str(frame.columns[i]), frame.iloc[:, i]), range(n_columns),
                          frame.size)
    warnings = []
    if rows < FEW_ROWS:
        warnings.append(W_FEW_ROWS.format(rows=plural(rows, "row")))
    if n_columns > rows:
        warnings.append(W_WIDE.format(columns=n_columns, rows=rows))
    return DatasetSchema(rows=rows, columns=columns, warnings=warnings)


L_IDENTICAL = "column {column!r} holds the same values as the target {target!r}; it gives the answer away: leave it out"
L_RELABELLED = ("column {column!r} is the target {target!r} under other labels (one value per class, one to one); it "
                "gives the answer away: leave it out")
L_DETERMINES = ("every value of column {column!r} goes with a single class of {target!r}; it is probably derived from "
                "the target: check it before using it")
L_SEPARATES = ("column {column!r} splits the classes of {target!r} perfectly at one threshold (about "
               "{threshold:g}); it is probably derived from the target: check it before using it")
L_CORRELATED = ("column {column!r} is almost perfectly correlated with the target {target!r} (r = {r:+.3f}); check "
                "that it is not derived from it")
L_PREDICTS = ("column {column!r} alone ranks the classes of {target!r} almost perfectly (ROC AUC {auc:.3f} on "
              "{rows:,} rows); it is probably derived from the target: check it before using it")
LEAKAGE_MIN_ROWS = 10
LEAKAGE_CORRELATION = 0.98
LEAKAGE_AUC = 0.99
DETERMINES_MAX_LEVELS = 20
AUC_MAX_LEVELS = 50
AUC_ROWS_PER_LEVEL = 20
AUC_SAMPLE = 20_000
#: Tables longer than this are screened on a sample of this many rows first (see :func:`_screen`).
LEAKAGE_SCREEN_ROWS = 50_000
SCREEN_CORRELATION = 0.9
SCREEN_AUC = 0.95
SCREEN_MIN_PRESENT = 1_000


@dataclass(frozen=True)
class LeakageWarning:
    """A column that may give the target away: ``reason`` is one of identical, relabelled, determines, separates,
    correlated, predicts."""

    column: str
    reason: str
    message: str

    def __str__(self) -> str:
        return self.message


def _distinct_codes(codes: np.ndarray, size: int) -> np.ndarray:
    """Codes 0..k-1 for the ``k`` levels that occur in ``codes`` (pd.factorize codes of a subset)."""
    present = np.flatnonzero(np.bincount(codes, minlength=size))
    remap = np.full(size, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    return remap[codes]


def _leak(column: str, x: pd.Series, y_codes: np.ndarray, n_y: int, y: pd.Series, target: str, *,
          correlation: float = LEAKAGE_CORRELATION, auc_limit: float = LEAKAGE_AUC) -> LeakageWarning | None:
    """``x`` and the target on rows where both are present; ``y_codes`` are 0..n_y-1. The screen of a sample passes
    looser ``correlation`` and ``auc_limit`` so that no column the exact check would flag escapes it."""
    n = len(x)
    numeric = _is_number(x)
    head = x.iloc[:1000]
    if numeric and head.nunique() > max(n_y, DETERMINES_MAX_LEVELS):
        n_x, x_codes = n, None  # many levels: only the threshold and correlation checks apply
    else:
        try:
            codes, levels = pd.factorize(x)
        except TypeError:  # unhashable values
            return None
        x_codes = _distinct_codes(codes, len(levels))
        n_x = int(x_codes.max()) + 1
    few_levels = n_x <= min(DETERMINES_MAX_LEVELS, max(2, n // 10))
    determined = False
    if x_codes is not None and (n_x == n_y or few_levels):
        determined = len(pd.unique(x_codes * n_y + y_codes)) == n_x  # each value of x goes with one class
        if determined and n_x == n_y:
            same = bool((x.astype(str).to_numpy() == y.astype(str).to_numpy()).all())
            if same:
                return LeakageWarning(column, "identical", L_IDENTICAL.format(column=column, target=target))
            if 2 * n_y <= n:  # when most classes have a single row, any column of distinct values "relabels" them
                return LeakageWarning(column, "relabelled", L_RELABELLED.format(column=column, target=target))
    if n_y == 2 and numeric and n_x >= 3:
        values = x.to_numpy(dtype=float)
        first, second = values[y_codes == 0], values[y_codes == 1]
        if first.max() < second.min() or second.max() < first.min():
            low, high = sorted([first, second], key=lambda v: v.max())
            return LeakageWarning(column, "separates", L_SEPARATES.format(
                column=column, target=target, threshold=(low.max() + high.min()) / 2))
        if values.std() > 0:
            r = float(np.corrcoef(values, y_codes.astype(float))[0, 1])
            if abs(r) > correlation:
                return LeakageWarning(column, "correlated", L_CORRELATED.format(column=column, target=target, r=r))
    if few_levels and determined and n_x > n_y:  # each of a few values goes with one class
        return LeakageWarning(column, "determines", L_DETERMINES.format(column=column, target=target))
    if n_y == 2:
        auc = single_column_auc(x, y_codes, codes=x_codes if not numeric else None)
        if auc is not None and auc >= auc_limit:
            rows = min(n, AUC_SAMPLE)
            return LeakageWarning(column, "predicts", L_PREDICTS.format(column=column, target=target, auc=auc,
                                                                         rows=rows))
    return None


def rank_auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """ROC AUC of ``score`` for the 0/1 labels ``positive`` (Mann-Whitney U with average ranks for ties)."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def single_column_auc(x: pd.Series, y_codes: np.ndarray, *, codes: np.ndarray | None = None) -> float | None:
    """How well one column alone ranks a two-class target: ROC AUC in [0.5, 1] (direction-free), or None.

    A numeric column is its own score. A column of few levels (``codes``: 0..k-1, at most :data:`AUC_MAX_LEVELS`
    levels and :data:`AUC_ROWS_PER_LEVEL` rows per level, so the in-sample level rates are not overfitted) scores
    each row with its level's share of class 1. Other columns (many text levels) give None. Tables over
    :data:`AUC_SAMPLE` rows are judged on a fixed random sample, which keeps the check fast on a million rows.
    """
    n = len(x)
    if n < LEAKAGE_MIN_ROWS:
        return None
    take = None
    if n > AUC_SAMPLE:
        take = np.sort(np.random.default_rng(0).choice(n, AUC_SAMPLE, replace=False))
    labels = np.asarray(y_codes)[take] if take is not None else np.asarray(y_codes)
    positive = labels == 1
    if codes is not None:
        n_levels = int(codes.max()) + 1 if len(codes) else 0
        if n_levels < 2 or n_levels > AUC_MAX_LEVELS or n_levels * AUC_ROWS_PER_LEVEL > n:
            return None
        picked = codes[take] if take is not None else codes
        counts = np.bincount(picked, minlength=n_levels)
        hits = np.bincount(picked, weights=positive.astype(float), minlength=n_levels)
        rate = np.divide(hits, counts, out=np.zeros(n_levels), where=counts > 0)
        score = rate[picked]
    elif _is_number(x):
        score = x.to_numpy(dtype=float)
        score = score[take] if take is not None else score
        if not np.all(np.isfinite(score)):
            return None
    else:
        return None
    auc = rank_auc(score, positive)
    return None if auc is None else max(auc, 1.0 - auc)


def leakage_candidates(frame: pd.DataFrame, target: str) -> list[LeakageWarning]:
    """Columns that give ``target`` away, in column order, one warning each (the strongest reason).

    Compared on rows where both the column and the target are present (at least :data:`LEAKAGE_MIN_ROWS`):
    *identical* values; a one-to-one *relabelling* (``yes``/``no`` for ``>50K``/``<=50K``; only when the classes
average two or more rows, since any column of distinct values maps one to one onto a target of distinct values
such as a continuous number); for a two-class target,
    a numeric column whose values split the classes at a threshold (*separates*) or with
    ``|r| >`` :data:`LEAKAGE_CORRELATION` (*correlated*); and a column with few levels (at most
    :data:`DETERMINES_MAX_LEVELS`, and one per 10 rows) each of which goes with a single class (*determines*).
    Identifiers trivially "determine" the target; the schema flags them instead. Tables over
    :data:`LEAKAGE_SCREEN_ROWS` rows are screened on a sample first and only the columns it flags are checked on
    every row (:func:`_screen`), which keeps the check well under a second on a million rows.
    """
    if target not in frame.columns:
        listed = ", ".join(repr(str(n)) for n in list(frame.columns)[:20])
        raise SpecError(NO_COLUMN.format(name=target, names=listed))
    positions = [i for i, name in enumerate(frame.columns) if name != target]
    if len(frame) > LEAKAGE_SCREEN_ROWS:
        positions = _screen(frame, target, positions)
    return [warning for _, warning in _scan(frame, target, positions, {}) if warning is not None]


def _screen(frame: pd.DataFrame, target: str, positions: list[int]) -> list[int]:
    """The columns worth the exact check on a big table: those a random sample flags under looser limits.

    Every exact reason but two holds on any subset of the rows when it holds on all of them (identical values,
    a relabelling, a perfect threshold, levels that each go with one class); the correlation and the single-column
    AUC are measured on the sample with a margin (:data:`SCREEN_CORRELATION`, :data:`SCREEN_AUC`) far wider than
    their sampling error at :data:`LEAKAGE_SCREEN_ROWS` rows. A column with few present cells in the sample goes
    to the exact check unscreened.
    """
    take = np.sort(np.random.default_rng(0).choice(len(frame), LEAKAGE_SCREEN_ROWS, replace=False))
    sample = frame.iloc[take]
    limits = {"correlation": SCREEN_CORRELATION, "auc_limit": SCREEN_AUC}
    flagged = {i for i, _ in _scan(sample, target, positions, limits, sparse=SCREEN_MIN_PRESENT)}
    return [i for i in positions if i in flagged]


def _scan(frame: pd.DataFrame, target: str, positions: list[int], limits: dict[str, float], *,
          sparse: int = 0) -> list[tuple[int, LeakageWarning | None]]:
    """``(position, warning)`` for each column at ``positions`` that :func:`_leak` flags; with ``sparse``, also
    ``(position, None)`` for columns with fewer than ``sparse`` rows where both it and the target are present."""
    y = frame[target]
    if isinstance(y, pd.DataFrame):
        y = y.iloc[:, 0]
    y_all, y_levels = pd.factorize(y)
    has_y = y_all >= 0
    found: list[tuple[int, LeakageWarning | None]] = []
    for i in positions:
        name = frame.columns[i]
        x = frame.iloc[:, i]
        both = has_y & x.notna().to_numpy()
        present = int(both.sum())
        if present < sparse:
            found.append((i, None))
            continue
        if present < LEAKAGE_MIN_ROWS:
            continue
        y_codes = _distinct_codes(y_all[both], len(y_levels))
        n_y = int(y_codes.max()) + 1
        if n_y < 2:
            continue
        warning = _leak(str(name), x[both], y_codes, n_y, y[both], str(target), **limits)
        if warning is not None:
            found.append((i, warning))
    return found
