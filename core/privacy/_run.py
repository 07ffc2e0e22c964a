"""The membership audit of any model run: a run trained here (:mod:`core.privacy._audit`) or an uploaded model
(:mod:`core.privacy._uploaded`). One entry point, so the CLI, the pages and the audit job never branch on kinds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.privacy._audit import (
    DEFAULT_REFERENCE_MODELS,
    AuditResult,
    Progress,
    audit_trained_run,
    cached_audit,
    check_attack,
)
from core.privacy._uploaded import audit_uploaded
from core.runs import RunStatus


def audit_run(store: Any, run_id: str, *, attack: str = "reference", reference_models: int = DEFAULT_REFERENCE_MODELS,
              progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
              use_cache: bool = True) -> AuditResult:
    """Audit a stored model run (cached per attack and K in the run's artifacts)."""
    check_attack(attack, reference_models)
    record = store.get(run_id)
    if record.is_uploaded_model and record.status == RunStatus.SUCCEEDED:
        hit = cached_audit(store, run_id, attack=attack, reference_models=reference_models) if use_cache else None
        return hit or audit_uploaded(store, record, attack=attack, progress=progress)
    return audit_trained_run(store, run_id, attack=attack, reference_models=reference_models, progress=progress,
                             should_stop=should_stop, use_cache=use_cache)
