"""Dataset spec: which column is the target, which class counts as positive, what the model sees, whom we audit.

The spec is the contract between the Data page and everything downstream (training, fairness, privacy): it is saved
in the store as JSON, validated against the table before it is saved, and every later run records the spec it used.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.data._target import TargetGuess
from core.data._target import guess_target as _guess
from core.data.schema import leakage_candidates
from core.errors import SpecError
from core.text import plural

MIN_CLASS_ROWS = 20
MAX_CLASSES = 50
MISSING_GROUP = "missing"
BINNING_CHOICES = ("none", "quantile", "edges")

# Substrings that suggest a column describes a protected attribute. Matched on a normalised name
# ("Marital-Status" -> "marital status"), so common spellings in public datasets are found.
SENSITIVE_HINTS = (
    "sex", "gender", "race", "ethnic", "age", "religion", "nationality", "native country", "country of birth",
    "marital", "disab",
)
EXCLUDED_KINDS = {
    "id": "looks like an identifier (one value per row), which a model can only memorise",
    "constant": "has a single value, so it carries no information",
    "empty": "is empty in every row",
    "text": "is free text, which this model cannot use",
}


@dataclass(frozen=True)
class SensitiveColumn:
    """A column to slice fairness and privacy results by; numeric columns are binned into groups."""

    column: str
    binning: str = "none"
    bins: int = 4
    edges: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.binning not in BINNING_CHOICES:
            raise SpecError(f"Binning {self.binning!r} for {self.column!r} is not one of {', '.join(BINNING_CHOICES)}.")
        if self.binning == "quantile" and not 2 <= self.bins <= 20:
            raise SpecError(f"Use between 2 and 20 quantile bins for {self.column!r} (got {self.bins}).")
        if self.binning == "edges":
            edges = tuple(float(e) for e in self.edges)
            if not edges or any(not math.isfinite(e) for e in edges) or list(edges) != sorted(set(edges)):
                raise SpecError(f"Bin edges for {self.column!r} must be finite, increasing numbers, e.g. 25, 45, 65.")
            object.__setattr__(self, "edges", edges)

    def to_dict(self) -> dict:
        return {"column": self.column, "binning": self.binning, "bins": self.bins, "edges": list(self.edges)}

    @classmethod
    def from_dict(cls, data: dict) -> SensitiveColumn:
        return cls(column=str(data["column"]), binning=str(data.get("binning", "none")),
                   bins=int(data.get("bins", 4)), edges=tuple(data.get("edges", ())))


@dataclass(frozen=True)
class DatasetSpec:
    """What to learn from a stored dataset. ``positive_class`` is the target value as text (see :func:`label_text`)."""

    dataset_id: str
    target: str
    positive_class: str
    features: tuple[str, ...]
    sensitive: tuple[SensitiveColumn, ...] = ()
    name: str = ""

    @property
    def spec_id(self) -> str:
        """Content hash: the same choices give the same id, so saving twice does not duplicate."""
        body = self.to_dict()
        body.pop("name", None)
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def sensitive_columns(self) -> tuple[str, ...]:
        return tuple(s.column for s in self.sensitive)

    def to_dict(self) -> dict:
        return {"dataset_id": self.dataset_id, "target": self.target, "positive_class": self.positive_class,
                "features": list(self.features), "sensitive": [s.to_dict() for s in self.sensitive],
                "name": self.name}

    @classmethod
    def from_dict(cls, data: dict) -> DatasetSpec:
        try:
            return cls(dataset_id=str(data["dataset_id"]), target=str(data["target"]),
                       positive_class=str(data["positive_class"]), features=tuple(map(str, data["features"])),
                       sensitive=tuple(SensitiveColumn.from_dict(s) for s in data.get("sensitive", ())),
                       name=str(data.get("name", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"The saved spec is incomplete or damaged ({exc}); save it again on the Data "
                            "page.") from None


@dataclass(frozen=True)
class SpecSuggestion:
    spec: DatasetSpec
    excluded: dict[str, str] = field(default_factory=dict)
    guess: TargetGuess | None = None  # set when the target was guessed rather than given


@dataclass(frozen=True)
class Labels:
    """Target encoded as class indices; ``classes[positive_index]`` is the positive class."""

    y: np.ndarray
    classes: tuple[str, ...]
    positive_index: int
    kept: np.ndarray  # boolean mask of rows whose target is not missing

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def _label_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, texts)``: each row's code (-1 when missing) into the texts of the distinct values, in order of first
    appearance. Each distinct value is turned into text once, instead of formatting a million cells."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists): format each one
        codes = np.where(values.isna().to_numpy(), -1, np.arange(len(values)))
        uniques = values.to_numpy(dtype=object)
    uniques = pd.Series(uniques)
    if pd.api.types.is_bool_dtype(values):
        texts = np.where(uniques.to_numpy(dtype=bool), "True", "False").astype(object)
    elif pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(uniques, errors="coerce").to_numpy(dtype=float)
        if len(numbers) and np.all(np.mod(numbers, 1) == 0):
            texts = numbers.astype(np.int64).astype(str).astype(object)
        else:
            texts = np.array([repr(float(v)) for v in numbers], dtype=object)
    else:
        objects = uniques.to_numpy(dtype=object)
        try:
            texts = objects.astype(str).astype(object)
        except ValueError:  # lists and other sequences: numpy would read them as rows
            texts = np.array([str(v) for v in objects] + [None], dtype=object)[:-1]
    return np.asarray(codes), texts


def label_text(values: pd.Series) -> pd.Series:
    """Target values as text, the form in which a positive class is named (``1.0`` and ``1`` both read ``"1"``).

    Vectorised: it runs on every target choice, so it must stay fast on million-row tables.
    """
    codes, texts = _label_codes(values)
    out = np.append(texts, None)[codes]  # code -1 (missing) picks the trailing None
    return pd.Series(out, index=values.index, dtype="object", name=values.name)


def class_counts(frame: pd.DataFrame, target: str) -> pd.Series:
    """Rows per target class (missing targets left out), largest first: ``label_text(...).value_counts()``,
    counted from the codes of the distinct values rather than by hashing a text per row."""
    _require_columns(frame, [target], "target")
    values = frame[target]
    codes, texts = _label_codes(values)
    counts = np.bincount(codes[codes >= 0], minlength=len(texts))
    by_text = pd.Series(counts, index=pd.Index(texts, dtype="object", name=values.name), name="count")
    by_text = by_text.groupby(level=0, sort=False).sum()  # 1 and 1.0 in one object column are one class
    return by_text.sort_values(ascending=False)


def resolve_positive_class(frame: pd.DataFrame, target: str, given: str) -> str:
    """The class the user meant: exact text first, then ignoring case and spaces, then numerically (``1.0`` = ``1``).

    The CLI and API take the positive class as typed text; ``true`` for a ``True`` column or ``1.0`` for a 0/1
    column should just work, while an ambiguous or absent value stays an error naming the classes.
    """
    classes = [str(c) for c in class_counts(frame, target).index]
    if given in classes:
        return given
    folded = [c for c in classes if c.strip().casefold() == given.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    try:
        number = float(given)
        numeric = [c for c in classes if _as_float(c) == number]
    except ValueError:
        numeric = []
    if len(numeric) == 1:
        return numeric[0]
    raise SpecError(f"The positive class {given!r} does not occur in {target!r}; pick one of: "
                    f"{_listed(classes)}.")


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def encode_labels(frame: pd.DataFrame, spec: DatasetSpec) -> Labels:
    """Class indices for training: binary targets become 0/1 with the positive class as 1."""
    text = label_text(frame[spec.target])
    kept = text.notna().to_numpy()
    present = sorted(text.dropna().unique().tolist())
    if spec.positive_class not in present:
        raise SpecError(f"The positive class {spec.positive_class!r} does not occur in {spec.target!r}; "
                        f"pick one of: {_listed(present)}.")
    if len(present) == 2:
        classes = (*(c for c in present if c != spec.positive_class), spec.positive_class)
    else:
        classes = tuple(present)
    index = {c: i for i, c in enumerate(classes)}
    y = text[kept].map(index).to_numpy(dtype=np.int64)
    return Labels(y=y, classes=classes, positive_index=index[spec.positive_class], kept=kept)


def _normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(name).lower()).strip()


def suggest_sensitive(columns: Iterable[str]) -> list[str]:
    """Columns whose names suggest a protected attribute (word-level match, so 'page' is not 'age')."""
    found = []
    for column in columns:
        name = f" {_normalise_name(column)} "
        if any(f" {hint}" in name for hint in SENSITIVE_HINTS):
            found.append(column)
    return found


def guess_target(frame: pd.DataFrame, schema) -> TargetGuess:
    """The column this table was most likely collected to predict, with the evidence (see :mod:`core.data._target`)."""
    columns = [str(c) for c in frame.columns]
    info = {c.name: c for c in schema.columns}
    return _guess(columns, {c: info[c].kind for c in columns if c in info},
                  {c: info[c].unique for c in columns if c in info},
                  {c: info[c].missing for c in columns if c in info}, set(suggest_sensitive(columns)))


def suggest_spec(frame: pd.DataFrame, schema, dataset_id: str, *, target: str | None = None) -> SpecSuggestion:
    """A sensible starting spec: guessed target, minority class positive, unusable columns excluded with reasons.

    Every column :func:`core.data.schema.leakage_candidates` flags is left out too: a default must never hand the
    model the answer (a leaked column gives ROC AUC 1.0 that looks like a result). The Data page and the CLI both
    start from this spec, so the exclusions and their reasons are the same in both; a user who knows a flagged
    column is fair can still select it (``--features`` in the CLI).
    """
    columns = [str(c) for c in frame.columns]
    kinds = {c.name: c.kind for c in schema.columns}
    guess = guess_target(frame, schema) if target is None else None
    target = target if target is not None else guess.column
    _require_columns(frame, [target], "target")
    counts = class_counts(frame, target)
    positive = str(counts.index[-1]) if len(counts) else ""
    excluded = {c: f"{c!r} {EXCLUDED_KINDS[kinds[c]]}" for c in columns
                if c != target and kinds.get(c) in EXCLUDED_KINDS}
    target_text = label_text(frame[target])
    n_classes = target_text.nunique(dropna=True)
    for leak in leakage_candidates(frame, target):
        if leak.column not in excluded:
            excluded[leak.column] = f"possible target leakage: {leak.message}"
    for column in columns:
        if column != target and column not in excluded and _same_information(frame[column], target_text, n_classes):
            excluded[column] = f"{column!r} holds the same information as the target (target leakage)"
    features = tuple(c for c in columns if c != target and c not in excluded)
    sensitive = []
    for column in suggest_sensitive(columns):
        if column == target or kinds.get(column) in EXCLUDED_KINDS:
            continue
        numeric = kinds.get(column) == "numeric"
        sensitive.append(SensitiveColumn(column, binning="quantile" if numeric else "none"))
    spec = DatasetSpec(dataset_id=dataset_id, target=target, positive_class=positive, features=features,
                       sensitive=tuple(sensitive))
    return SpecSuggestion(spec=spec, excluded=excluded, guess=guess)


def _require_columns(frame: pd.DataFrame, names: Iterable[str], role: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        shown = ", ".join(map(repr, missing[:5]))
        raise SpecError(f"The {role} column(s) {shown} are not in this table; pick from its columns "
                        f"(e.g. {', '.join(map(repr, list(frame.columns)[:5]))}).")


def _same_information(column: pd.Series, target_text: pd.Series, n_classes: int | None = None) -> bool:
    """True when ``column`` is a one-to-one relabelling of the target (identical up to the names of values).

    A cheap distinct-count check rules out almost every column before the exact pairing test runs, which keeps
    validation fast on wide, million-row tables: the first rows usually show more values than the target has
    classes already. Pass ``n_classes`` (the target's distinct texts) when checking many columns.
    """
    if n_classes is None:
        n_classes = target_text.nunique(dropna=True)
    if n_classes < 2:
        return False
    try:
        if _more_distinct_than(column, n_classes) or column.nunique(dropna=True) != n_classes:
            return False
    except TypeError:  # unhashable cells: compare their text
        if label_text(column).nunique(dropna=True) != n_classes:
            return False
    if target_text.count() < 2 * n_classes:
        return False  # all-distinct columns map one to one by accident; that says nothing about leakage
    pair = pd.DataFrame({"a": label_text(column), "b": target_text}).dropna()
    if pair.empty:
        return False
    return bool(pair.groupby("a")["b"].nunique().max() == 1 and pair.groupby("b")["a"].nunique().max() == 1)


def _more_distinct_than(column: pd.Series, count: int, head: int = 1000) -> bool:
    """True when the first ``head`` rows alone hold more than ``count`` distinct values (False says nothing)."""
    return len(column) > head and column.iloc[:head].nunique(dropna=True) > count


def check_target_classes(target: str, counts: pd.Series) -> None:
    """Refuse a target with so many classes that it is surely continuous or an identifier, in one short line."""
    if len(counts) > MAX_CLASSES:
        raise SpecError(f"{target!r} has {len(counts):,} distinct values; it looks continuous or like an identifier, "
                        f"not a class label. Pick a categorical target (at most {MAX_CLASSES} classes), or bin it "
                        "into classes before uploading.")


def _listed(values, limit: int = 10) -> str:
    """A readable list of classes: the first few, then how many more."""
    values = list(values)
    shown = ", ".join(map(repr, values[:limit]))
    return shown + (f" and {len(values) - limit:,} more" if len(values) > limit else "")


def validate_spec(frame: pd.DataFrame, spec: DatasetSpec) -> list[str]:
    """Raise :class:`SpecError` for a spec that cannot be trained or audited; return warnings for ones that can."""
    _require_columns(frame, [spec.target], "target")
    if not spec.features:
        raise SpecError("No feature columns are selected; pick at least one column for the model to learn from.")
    if spec.target in spec.features:
        raise SpecError(f"The target {spec.target!r} is also selected as a feature; remove it from the features.")
    _require_columns(frame, spec.features, "feature")
    _require_columns(frame, spec.sensitive_columns, "sensitive")
    counts = class_counts(frame, spec.target)
    check_target_classes(spec.target, counts)
    if len(counts) < 2:
        only = repr(counts.index[0]) if len(counts) else "no value at all"
        raise SpecError(f"The target {spec.target!r} has a single class ({only}); a classifier needs two or more. "
                        "Pick another target column.")
    small = counts[counts < MIN_CLASS_ROWS]
    if len(small):
        detail = ", ".join(f"{k!r} has {v}" for k, v in list(small.items())[:10])
        if len(small) > 10:
            detail += f" and {len(small) - 10:,} more"
        raise SpecError(f"Every class of {spec.target!r} needs at least {MIN_CLASS_ROWS} rows to train and test "
                        f"on ({detail}). Merge rare classes or pick another target.")
    if spec.positive_class not in counts.index:
        raise SpecError(f"The positive class {spec.positive_class!r} does not occur in {spec.target!r}; "
                        f"pick one of: {_listed(counts.index)}.")
    target_text = label_text(frame[spec.target])
    n_classes = target_text.nunique(dropna=True)
    for column in spec.features:
        if _same_information(frame[column], target_text, n_classes):
            raise SpecError(f"The feature {column!r} holds the same information as the target {spec.target!r} "
                            "(target leakage); remove it from the features.")
    for column in spec.sensitive_columns:
        if column == spec.target or _same_information(frame[column], target_text, n_classes):
            raise SpecError(f"The sensitive column {column!r} is the target itself; pick a different column "
                            "to audit groups by.")
    warnings = []
    missing_target = int(frame[spec.target].isna().sum())
    if missing_target:
        warnings.append(f"{plural(missing_target, 'row')} {'has' if missing_target == 1 else 'have'} no value in "
                        f"{spec.target!r}; {'it is' if missing_target == 1 else 'they are'} left out of training.")
    for sensitive in spec.sensitive:
        sizes = sensitive_groups(frame, sensitive).value_counts()
        tiny = sizes[sizes < MIN_CLASS_ROWS]
        if len(tiny):
            verb, whose = ("has", "its") if len(tiny) == 1 else ("have", "their")
            warnings.append(f"{sensitive.column!r}: {plural(len(tiny), 'group')} {verb} fewer than {MIN_CLASS_ROWS} "
                            f"rows ({', '.join(map(repr, tiny.index[:3]))}); {whose} fairness numbers will be flagged "
                            "as unreliable.")
        if len(sizes) > 50:
            warnings.append(f"{sensitive.column!r} has {len(sizes)} groups; consider binning or a coarser column.")
    return warnings


def _format_edge(value: float) -> str:
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:g}"


def sensitive_groups(frame: pd.DataFrame, sensitive: SensitiveColumn) -> pd.Series:
    """Group label per row as text; missing values form an explicit "missing" group (fairlearn rejects NaN)."""
    _require_columns(frame, [sensitive.column], "sensitive")
    values = frame[sensitive.column]
    if sensitive.binning == "none":
        return label_text(values).fillna(MISSING_GROUP).rename(sensitive.column)
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == 0 or (values.notna() & numbers.isna()).any():
        raise SpecError(f"{sensitive.column!r} is not numeric, so it cannot be binned; use it as it is "
                        "(binning 'none').")
    if sensitive.binning == "quantile":
        quantiles = np.unique(np.nanquantile(numbers.to_numpy(dtype=float), np.linspace(0, 1, sensitive.bins + 1)))
        inner = quantiles[1:-1]
    else:
        inner = np.asarray(sensitive.edges, dtype=float)
    edges = np.concatenate([[-np.inf], inner, [np.inf]])
    labels = [f"[{_format_edge(lo)}, {_format_edge(hi)})" for lo, hi in itertools.pairwise(edges)]
    binned = pd.cut(numbers, bins=edges, labels=labels, right=False)
    return binned.astype("object").where(binned.notna(), MISSING_GROUP).rename(sensitive.column)


@dataclass(frozen=True)
class BuiltSpec:
    """A validated spec, the warnings it carries, and the columns left out of its features by default (and why)."""

    spec: DatasetSpec
    warnings: list[str]
    excluded: dict[str, str]


def build_spec(frame: pd.DataFrame, schema, dataset_id: str, *, target: str, positive: str | None = None,
               features: Sequence[str] | None = None,
               sensitive: Sequence[str | SensitiveColumn] | None = None, name: str | None = None) -> BuiltSpec:
    """The one way a spec is assembled from user choices, shared by the Data page and ``python -m core train``.

    ``None`` means "the suggested default": features from :func:`suggest_spec` (identifiers, constants, free text
    and leaky columns left out, each with its reason in ``excluded``), the rarest class as positive, sensitive
    columns suggested by name. Explicit choices are checked (unknown columns, a positive class that does not
    occur) and the spec is validated, so an invalid one never reaches training.
    """
    _require_columns(frame, [target], "target")
    check_target_classes(target, class_counts(frame, target))
    suggestion = suggest_spec(frame, schema, dataset_id, target=target)
    kinds = {c.name: c.kind for c in schema.columns}
    if features is None:
        chosen = suggestion.spec.features
        if not chosen:
            reasons = "; ".join(list(suggestion.excluded.values())[:5]) or "the table has no other column"
            raise SpecError(f"No usable feature columns: {reasons}. Name the columns to use explicitly (--features on "
                            "the command line, the Features box on the Data page).")
        excluded = {c: r for c, r in suggestion.excluded.items() if c != target}
    else:
        _require_columns(frame, features, "feature")
        chosen = tuple(dict.fromkeys(str(f) for f in features))
        excluded = {c: r for c, r in suggestion.excluded.items() if c != target and c not in chosen}
    if sensitive is None:
        audited = suggestion.spec.sensitive
    else:
        names = [s.column if isinstance(s, SensitiveColumn) else str(s) for s in sensitive]
        _require_columns(frame, names, "sensitive")
        audited = tuple(s if isinstance(s, SensitiveColumn) else
                        SensitiveColumn(s, binning="quantile" if kinds.get(s) == "numeric" else "none")
                        for s in sensitive)
    chosen_positive = (suggestion.spec.positive_class if positive is None
                       else resolve_positive_class(frame, target, str(positive)))
    spec = DatasetSpec(dataset_id=dataset_id, target=target, positive_class=chosen_positive, features=chosen,
                       sensitive=audited, name=(name or "").strip() or f"{target} = {chosen_positive}")
    return BuiltSpec(spec=spec, warnings=validate_spec(frame, spec), excluded=excluded)


__all__ = [
    "MIN_CLASS_ROWS", "MISSING_GROUP", "BuiltSpec", "DatasetSpec", "Labels", "SensitiveColumn", "SpecSuggestion",
    "TargetGuess", "build_spec", "class_counts", "encode_labels", "guess_target", "label_text", "sensitive_groups",
    "suggest_sensitive", "suggest_spec", "validate_spec",
]
