"""Membership audit of an uploaded (ONNX) model: the loss attack on the rows the user marked as its training set.

The user's ``members`` column (given at import) says which rows the model was trained on; they are the run's
training split, the other labelled rows its test split. The loss-threshold attack needs only the model's
probabilities, so it runs as for a model trained here, with the same Clopper-Pearson bound and the audit's ceiling.
The reference-model attack (offline LiRA) is refused with the reason: it trains reference models the way the audited
model was trained, which needs the training code and settings of a model built elsewhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.errors import ConfigError
from core.privacy._audit import AuditResult, audit_arrays, cache_name, choose_audit_rows
from core.runs import write_cache

NEEDS_RETRAINING = ("run {run_id} is an uploaded model: the reference-model attack (offline LiRA) trains reference "
                    "models the way the audited model was trained, which Riskboard cannot do for a model trained "
                    "elsewhere. Use the loss attack (--attack loss); its result and ceiling are shown the same way.")
NO_MEMBERS = ("run {run_id} was imported without a members column, so nobody knows which rows the model was trained "
              "on and there is nothing to audit. Import the model again with --members COLUMN (1 = training row).")
LOSS_ONLY_NOTE = ("Uploaded model: only the loss attack is available; the reference-model attack would need "
                  "retraining the model, which Riskboard cannot do for a model trained elsewhere.")


def audit_uploaded(store: Any, record: Any, *, attack: str, progress=None) -> AuditResult:
    """The loss audit of an uploaded model's declared members against its other rows (cached like any audit)."""
    from core.config import get_settings
    from core.data.spec import DatasetSpec, label_text, sensitive_groups
    from core.data.store import DatasetStore
    from core.training import artifacts

    if attack != "loss":
        raise ConfigError(NEEDS_RETRAINING.format(run_id=record.id))
    arts = store.artifacts(record.id)
    split = artifacts.load_split(arts)
    if not len(split.train):
        raise ConfigError(NO_MEMBERS.format(run_id=record.id))
    model = artifacts.load_onnx_model(arts, limit_bytes=get_settings().max_model_bytes)
    classes, positive_index = artifacts.load_labels(arts)
    spec = DatasetSpec.from_dict(record.spec)
    frame = DatasetStore(store.home).load(record.dataset_id)
    rows = choose_audit_rows(split.train, split.test)
    audited = np.concatenate([rows.members, rows.nonmembers])
    is_positive = label_text(frame[spec.target].iloc[audited]).to_numpy() == classes[positive_index]
    y = np.where(is_positive, positive_index, 1 - positive_index).astype(np.int64)
    p = model.positive_probability(frame.iloc[audited])
    proba = np.column_stack([1 - p, p]) if positive_index == 1 else np.column_stack([p, 1 - p])
    groups = {s.column: sensitive_groups(frame, s).astype(str).to_numpy() for s in spec.sensitive}
    m = len(rows.members)
    if progress is not None:
        progress(0.02, f"auditing {m:,} members against {len(rows.nonmembers):,} non-members")
    result = audit_arrays(run_id=record.id, model=None, X_members=None, y_members=y[:m], X_nonmembers=None,
                          y_nonmembers=y[m:], n_classes=2, attack="loss", reference_models=1,
                          positive_index=positive_index, target_proba=proba, progress=progress,
                          member_groups={c: g[rows.members] for c, g in groups.items()},
                          nonmember_groups={c: g[rows.nonmembers] for c, g in groups.items()})
    result.notes.append(LOSS_ONLY_NOTE)
    write_cache(lambda: arts.write_json(cache_name("loss", 1), result.to_dict()))
    return result
