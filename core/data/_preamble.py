"""Where the table starts when an export puts a title or notes above its header ("Loan book, 30 June", a blank
line, then the header): one rule for delimited text and for Excel sheets.

A reader passes the field counts of the first non-blank records (the header candidate first, the records under it
after). A table that holds together as it stands (its first record has two or more fields and at least half of the
records under it have as many) is read as it is. Otherwise records are left out one at a time, at most
:data:`MAX_PREAMBLE_LINES`, until a candidate of two or more fields, at least as wide as most records under it,
agrees with at least :data:`PREAMBLE_AGREEMENT` of them, every record left out having one field or at most half as
many as it (so a header that lacks a column's name is not taken for a note: that stays an error). The search
stops at the first candidate as wide as the records under it: a ragged table is reported as ragged, never cut down
to its tail. A one-column file is read as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

MAX_PREAMBLE_LINES = 10
PREAMBLE_AGREEMENT = 0.9
PREAMBLE = ("{count} above the header {verb} left out ({first}): the table starts at {unit} {line}. If that {unit} "
            "is not the header, remove the {unit}s above the table and upload again.")

#: ``fits(header_width, record_width)``: whether a record under a header of that width belongs to it (delimited
#: text: the same count; Excel, where trailing empty cells are not stored: at most as many).
Fits = Callable[[int, int], bool]


def _share(width: int, below: Sequence[int], fits: Fits) -> float:
    return sum(fits(width, w) for w in below) / len(below) if below else 1.0


def holds_together(width: int, below: Sequence[int], fits: Fits) -> bool:
    """Whether a header of ``width`` fields over records of widths ``below`` reads as a table as it stands."""
    return width > 1 and _share(width, below, fits) >= 0.5


def verdict(width: int, below: Sequence[int], above: Sequence[int], fits: Fits) -> bool | None:
    """For a header candidate of ``width`` fields, with the widths of the records ``below`` it and of those that
    would be left out ``above`` it: True (the header), None (a note: look at the next record) or False (table rows,
    not notes: stop and read the file as it is)."""
    if not below:
        return False
    usual = Counter(below).most_common(1)[0][0]
    if not width >= usual > 1:
        return None
    return _share(width, below, fits) >= PREAMBLE_AGREEMENT and all(w <= 1 or 2 * w <= width for w in above)


def warning(notes: Sequence[str], header_line: int, unit: str = "line") -> str:
    """The warning that names what was left out (its first non-blank line, shortened) and the header's line (or
    ``unit="row"``, a sheet's row)."""
    first = notes[0] if len(notes[0]) <= 60 else notes[0][:57] + "..."
    return PREAMBLE.format(count=f"{len(notes)} {unit}" + ("" if len(notes) == 1 else "s"), unit=unit,
                           verb="was" if len(notes) == 1 else "were", first=f"starting {first!r}", line=header_line)
