"""Stratified train / validation / test split, stored as row indices into the original table.

Indices (not copies of rows) are what a run saves: the explain, fairness and membership-inference pages must
know exactly which rows the model saw in training and which it never saw, and indices into the stored dataset are
small, exact and JSON-able. Stratifying keeps the class balance equal across the three parts, which matters for
imbalanced targets (Adult is 24% positive) where an unlucky random split moves the test AUC visibly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import SpecError
from core.text import plural

EMPTY_TARGET = "the target column has no rows to split."
ONE_CLASS = "the target has only one class ({label!r}); a classifier needs at least two classes to learn from."
TARGET_MISSING = "the target column has {count} missing value(s); drop those rows or fill them before training."
TOO_FEW_ROWS = ("class {label!r} of the target has only {count}; each class needs at least {needed} rows so "
                "that the validation ({val:.0%}) and test ({test:.0%}) sets each get some. Merge rare classes, drop "
                "them, or add data.")
BAD_FRACTIONS = ("the validation ({val}) and test ({test}) fractions must each be above 0 and together below 0.9, "
                 "so that most rows are left for training.")
BAD_SPLIT_DICT = "stored split is malformed: {why}"
#: Codes of the parts in :meth:`SplitIndices.to_codes`: train, validation, test.
PART_CODES = (0, 1, 2)


@dataclass(frozen=True, eq=False)
class SplitIndices:
    """Sorted, disjoint int64 row positions of the train, validation and test parts."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SplitIndices):
            return NotImplemented
        return all(np.array_equal(getattr(self, k), getattr(other, k)) for k in ("train", "val", "test"))

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside: not hashable

    @property
    def n_rows(self) -> int:
        return int(self.train.size + self.val.size + self.test.size)

    def to_dict(self) -> dict[str, list[int]]:
        """JSON-ready form: plain lists of ints (about 7 bytes a row as JSON)."""
        return {"train": self.train.tolist(), "val": self.val.tolist(), "test": self.test.tolist()}

    def to_codes(self) -> np.ndarray:
        """Compact form: one int8 per row of the table, :data:`PART_CODES` (0 train, 1 validation, 2 test) or -1
        for a row in no part. A million-row split is 1 MB and loads in milliseconds, where JSON lists took 7 MB
        and seconds; the parts are disjoint by construction."""
        size = max((int(p.max()) + 1 for p in (self.train, self.val, self.test) if p.size), default=0)
        codes = np.full(size, -1, dtype=np.int8)
        for code, part in enumerate((self.train, self.val, self.test)):
            if np.any(codes[part] != -1):
                raise SpecError(BAD_SPLIT_DICT.format(why="a row appears in more than one part"))
            codes[part] = code
        return codes

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> SplitIndices:
        """Inverse of :meth:`to_codes`; :class:`SpecError` for an array of another shape, type or code."""
        if codes.ndim != 1 or codes.dtype != np.int8:
            raise SpecError(BAD_SPLIT_DICT.format(why="expected a flat int8 array of part codes"))
        if codes.size and (codes.min() < -1 or codes.max() > 2):
            raise SpecError(BAD_SPLIT_DICT.format(why="part codes must be -1, 0, 1 or 2"))
        train, val, test = (np.flatnonzero(codes == code).astype(np.int64) for code in PART_CODES)
        return cls(train=train, val=val, test=test)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitIndices:
        """Rebuild from :meth:`to_dict`, checking the parts are disjoint so a corrupted file cannot leak rows."""
        try:
            parts = {k: np.asarray(data[k], dtype=np.int64) for k in ("train", "val", "test")}
        except (KeyError, TypeError, ValueError) as exc:
            why = f"expected integer lists 'train', 'val', 'test' ({exc})"
            raise SpecError(BAD_SPLIT_DICT.format(why=why)) from None
        for name, arr in parts.items():
            if arr.ndim != 1 or (arr.size and arr.min() < 0):
                raise SpecError(BAD_SPLIT_DICT.format(why=f"'{name}' must be a flat list of row positions >= 0"))
        merged = np.concatenate(list(parts.values()))
        if np.unique(merged).size != merged.size:
            raise SpecError(BAD_SPLIT_DICT.format(why="a row appears in more than one part"))
        return cls(**{k: np.sort(v) for k, v in parts.items()})


def min_rows_per_class(val_fraction: float, test_fraction: float) -> int:
    """Fewest rows a class needs so each held-out part expects at least one of them."""
    return max(3, math.ceil(1.0 / min(val_fraction, test_fraction) - 1e-9))


def stratified_split(y: np.ndarray, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
                     seed: int = 0) -> SplitIndices:
    """Split row positions ``0..len(y)-1`` into stratified train / validation / test parts.

    The test part is drawn first, then the validation part from the rest, both stratified on ``y`` (see
    :func:`_stratified_draw`) from ``numpy.random.default_rng(seed)``, so the same seed always gives the same rows.
    Raises :class:`SpecError` naming the class when one has too few rows to appear in every part.
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 0.9):
        raise SpecError(BAD_FRACTIONS.format(val=val_fraction, test=test_fraction))
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.size == 0:
        raise SpecError(EMPTY_TARGET)
    if labels.dtype.kind in "fcOUSMm":
        missing = int(np.count_nonzero(pd.isna(labels)))
        if missing:
            raise SpecError(TARGET_MISSING.format(count=missing))
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if classes.size < 2:
        raise SpecError(ONE_CLASS.format(label=_plain(classes[0])))
    needed = min_rows_per_class(val_fraction, test_fraction)
    order = np.argsort(counts, kind="stable")
    for i in order:
        if counts[i] < needed:
            raise SpecError(TOO_FEW_ROWS.format(label=_plain(classes[i]), count=plural(int(counts[i]), "row"),
                                                needed=needed,
                                                val=val_fraction, test=test_fraction))
    rng = np.random.default_rng(seed)
    codes = codes.reshape(-1)  # numpy 2 keeps the input's shape for the inverse; a flat array of codes either way
    positions = np.arange(labels.size, dtype=np.int64)
    in_test = _stratified_draw(codes, classes.size, test_fraction, rng, leave=2)  # one for validation, one to train
    rest = positions[~in_test]
    in_val = _stratified_draw(codes[rest], classes.size, val_fraction / (1.0 - test_fraction), rng, leave=1)
    return SplitIndices(train=rest[~in_val], val=rest[in_val], test=positions[in_test])


def class_quotas(counts: np.ndarray, fraction: float) -> np.ndarray:
    """Rows to draw from each class for a stratified ``fraction`` of ``counts.sum()`` rows.

    The total is ``ceil(fraction * n)`` (as scikit-learn sizes a test set); each class gets the whole part of its
    proportional share and the rows left over go to the largest remainders (ties to the earlier class), so every
    part keeps the class balance to within one row of each class.
    """
    n = int(counts.sum())
    total = math.ceil(fraction * n - 1e-9)
    share = counts * (total / n)
    quotas = np.floor(share + 1e-9).astype(np.int64)
    short = total - int(quotas.sum())
    if short > 0:
        quotas[np.argsort(quotas - share, kind="stable")[:short]] += 1
    return quotas


def _stratified_draw(codes: np.ndarray, n_classes: int, fraction: float, rng: np.random.Generator, *,
                     leave: int) -> np.ndarray:
    """Mask of a random stratified ``fraction`` of the rows whose class codes are ``codes``: each class's quota
    (:func:`class_quotas`) drawn without replacement from its rows, but at least one row of each class and at most
    all but ``leave`` of them, so a small class still reaches every part (rounding alone left the training part
    without a class in about 1 of 15 tables with large held-out fractions and classes near the minimum).
    Vectorised per class; scikit-learn's ``train_test_split(stratify=...)`` built Python lists of every row index
    (0.45 s for a million rows, several times that while another thread holds the GIL)."""
    counts = np.bincount(codes, minlength=n_classes)
    quotas = np.clip(class_quotas(counts, fraction), 1, counts - leave)
    members = np.split(np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1])
    mask = np.zeros(codes.size, dtype=bool)
    for rows, quota in zip(members, quotas, strict=True):
        mask[rng.choice(rows, size=int(quota), replace=False)] = True
    return mask


def _plain(value: object) -> object:
    """numpy scalar -> Python scalar so messages read ``'>50K'`` rather than ``np.str_('>50K')``."""
    return value.item() if isinstance(value, np.generic) else value
