"""The one time-left estimate (training epochs, audit jobs, SHAP batches) and the one way a duration is shown."""

from __future__ import annotations

import math


def time_left(elapsed_s: float, done: float, total: float) -> float | None:
    """Seconds to go at the pace so far: ``elapsed * (total - done) / done``; None before any work is done."""
    if done <= 0:
        return None
    return max(0.0, elapsed_s * (total - done) / done)


def format_seconds(seconds: float) -> str:
    """"8.5 s", "42 s", "3 min 05 s", "2 h 07 min"; "–" for a duration that is not known."""
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
