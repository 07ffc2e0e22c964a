"""The report's "Accountability" section: who trained the run, who computed each analysis, who exported the card,
and the activity log's head (``seq`` and hash) at that moment: a copy of the head outside the log, so
``python -m core log --verify --head SEQ:HASH`` shows later whether entries were removed since."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.security import activity
from core.security.actor import current_actor

ANALYSES = {"explained": "Explanations (SHAP)", "fairness_computed": "Fairness by group",
            "audit_run": "Membership-inference audit", "mitigation_saved": "Mitigation"}


def accountability(home: Path, run_id: str) -> dict[str, Any]:
    """Facts from the activity log about ``run_id``; names only (the log never holds table values)."""
    found = activity.entries(home, run=run_id)
    started = next((e for e in found if e.action == "run_started" and e.subject == run_id), None)
    analyses = [{"analysis": ANALYSES[e.action], "actor": e.actor, "at": e.at, "seq": e.seq}
                for e in found if e.action in ANALYSES]
    check = activity.verify(home)
    return {"trained_by": started.actor if started else None, "trained_at": started.at if started else None,
            "analyses": analyses, "exported_by": current_actor().name, "log_head": check.head,
            "log_head_seq": check.head_seq,
            "log_entries": check.entries, "log_intact": check.ok}
