"""The one place that names a run for people: pickers, tables, the header and the report all call
:func:`display_name`, so a run reads the same everywhere."""

from __future__ import annotations

from core.runs._record import RunRecord


def display_name(record: RunRecord) -> str:
    """``"<name or kind> · <run id>"``: the run's given name (or its kind) and the id that finds it again."""
    return f"{record.name or record.kind} · {record.id}"
