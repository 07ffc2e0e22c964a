"""Membership-inference audit of a run trained here: who is a member is read from the run's split artifact.

* **Members** are the run's training rows, **non-members** its held-out rows (validation + test): never
  overlapping, since the split is the source of truth. The audit takes ``m = min(#train, #held-out)`` rows of each,
  drawn with a fixed seed, so the two sides are balanced and the ceiling is known in advance.
* **Population rows** are the rows left over on the larger side. The reference attack trains K reference models on
  them with the run's own settings (:func:`core.training.loop.fit`, DP-SGD included for private runs); no audited
  row is in any reference model's data, which is what offline LiRA assumes.
* Attacks: the loss threshold (free) and offline LiRA with K references (:mod:`core.privacy._mia`).
* Per sensitive group (from the run's spec), AUC and TPR at 1% FPR with the group's member and non-member counts.

Results are cached in the run's artifacts as ``audit-<attack>-k<K>.json``; a damaged cache file is discarded and
recomputed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.dp import load_privacy
from core.errors import ArtifactError, ConfigError, RunNotFoundError
from core.privacy._mia import AttackReport, attack_auc, attack_report, lira_offline_scores, loss_scores, tpr_at_fpr
from core.runs import RunKind, RunStatus, read_cache, write_cache
from core.runs._artifacts import DAMAGED
from core.security import activity
from core.training import artifacts

ATTACKS = ("loss", "reference")
DEFAULT_REFERENCE_MODELS = 4
MAX_REFERENCE_MODELS = 64
MIN_POPULATION = 40
MIN_GROUP_ROWS = 30
AUDIT_SEED = 20240
BAD_ATTACK = "attack must be one of {options}; got {value!r}."
BAD_K = "reference models must be a whole number from 1 to {most}; got {value!r}."
NOT_TRAINED_HERE = ("run {run_id} was not trained here (kind {kind!r}): a membership audit needs the model and its "
                    "training split. Audit a run trained on the Train page or with `python -m core train`.")
NOT_FINISHED = "run {run_id} is {status}; only a succeeded run can be audited."
TOO_FEW_POPULATION = ("the reference attack needs at least {need} spare rows to train reference models; this run has "
                      "{have}. Use the loss attack, or train the run with more held-out rows.")

Progress = Callable[[float, str], None]

if TYPE_CHECKING:  # torch is imported where a model scores rows: the loss audit of stored scores needs none
    import torch


@dataclass(frozen=True)
class AuditRows:
    """Original row positions: audited members, audited non-members, and population rows for reference models."""

    members: np.ndarray
    nonmembers: np.ndarray
    population: np.ndarray


def choose_audit_rows(train: np.ndarray, heldout: np.ndarray, seed: int = AUDIT_SEED) -> AuditRows:
    """Balanced members / non-members (never overlapping) and the leftover rows as the population."""
    train, heldout = np.asarray(train, np.int64), np.asarray(heldout, np.int64)
    if _overlap(train, heldout):
        raise ArtifactError("the run's split lists a row as both training and held-out; retrain the run or "
                            "delete it.")
    rng = np.random.default_rng(seed)
    m = min(len(train), len(heldout))
    train_order, held_order = rng.permutation(train), rng.permutation(heldout)
    population = np.concatenate([train_order[m:], held_order[m:]])
    return AuditRows(np.sort(train_order[:m]), np.sort(held_order[:m]), population)


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays of row numbers share one (a mark per row: linear, where ``intersect1d`` sorts both)."""
    if not a.size or not b.size:
        return False
    if min(a.min(), b.min()) < 0:
        return bool(np.intersect1d(a, b).size)
    seen = np.zeros(int(max(a.max(), b.max())) + 1, dtype=bool)
    seen[a] = True
    return bool(seen[b].any())


@dataclass
class AuditResult:
    """The whole audit: reports per attack, per-group reports, and the accountant's bound when private."""

    run_id: str
    attack: str
    reference_models: int
    reports: dict[str, AttackReport]
    by_group: dict[str, dict[str, dict[str, Any]]]
    epsilon_upper_bound: float | None
    accountant: str | None
    delta: float | None
    population_rows: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def main(self) -> AttackReport:
        return self.reports[self.attack]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "attack": self.attack, "reference_models": self.reference_models,
                "reports": {k: v.to_dict() for k, v in self.reports.items()}, "by_group": self.by_group,
                "epsilon_upper_bound": self.epsilon_upper_bound, "accountant": self.accountant, "delta": self.delta,
                "population_rows": self.population_rows, "seconds": self.seconds, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditResult:
        values = dict(data)
        values["reports"] = {k: AttackReport.from_dict(v) for k, v in data["reports"].items()}
        return cls(**values)

    def summary(self) -> dict[str, Any]:
        """The CLI's JSON contract."""
        main = self.main
        return {"run_id": self.run_id, "attack": self.attack, "attack_auc": main.auc,
                "tpr_at_fpr": dict(main.tpr_at_fpr), "epsilon_lower_bound": main.epsilon_lower_bound,
                "epsilon_lower_bound_ci": list(main.epsilon_lower_bound_ci), "epsilon_ceiling": main.epsilon_ceiling,
                "epsilon_upper_bound": self.epsilon_upper_bound, "by_group": self.by_group}


def check_attack(attack: str, reference_models: int) -> None:
    if attack not in ATTACKS:
        raise ConfigError(BAD_ATTACK.format(options=", ".join(ATTACKS), value=attack))
    if (isinstance(reference_models, bool) or not isinstance(reference_models, int)
            or not 1 <= reference_models <= MAX_REFERENCE_MODELS):
        raise ConfigError(BAD_K.format(most=MAX_REFERENCE_MODELS, value=reference_models))


def group_table(member_scores: np.ndarray, nonmember_scores: np.ndarray, member_groups: dict[str, np.ndarray],
                nonmember_groups: dict[str, np.ndarray]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per sensitive column and group: attack AUC and TPR at 1% FPR, with members / non-members counts."""
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for column, mg in member_groups.items():
        ng = nonmember_groups[column]
        rows: dict[str, dict[str, Any]] = {}
        for group in sorted(set(mg.tolist()) | set(ng.tolist()), key=str):
            ms, ns = member_scores[mg == group], nonmember_scores[ng == group]
            rows[str(group)] = {"n_members": len(ms), "n_nonmembers": len(ns), "attack_auc": attack_auc(ms, ns),
                                "tpr_at_fpr_0.01": tpr_at_fpr(ms, ns, 0.01) if len(ms) and len(ns) else math.nan,
                                "small": bool(min(len(ms), len(ns)) < MIN_GROUP_ROWS)}
        table[column] = rows
    return table


def reference_probas(X_pop: np.ndarray, y_pop: np.ndarray, X_audit: np.ndarray, *, n_classes: int, config: Any,
                     k: int, train_size: int, positive_index: int, progress: Progress | None = None,
                     should_stop: Callable[[], bool] | None = None) -> list[np.ndarray]:
    """Train K reference models on random population subsets with the run's config; score the audited rows."""
    import torch

    from core.device import training_threads

    rng = np.random.default_rng(AUDIT_SEED + 1)
    out = []
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, training_threads()))  # see core.device: 2 threads on 2 shared cores crawl
    try:
        return _train_references(X_pop, y_pop, X_audit, n_classes=n_classes, config=config, k=k,
                                 train_size=train_size, positive_index=positive_index, progress=progress,
                                 should_stop=should_stop, rng=rng, out=out)
    finally:
        torch.set_num_threads(threads)


def _train_references(X_pop: np.ndarray, y_pop: np.ndarray, X_audit: np.ndarray, *, n_classes: int, config: Any,
                      k: int, train_size: int, positive_index: int, progress: Progress | None,
                      should_stop: Callable[[], bool] | None, rng: np.random.Generator,
                      out: list[np.ndarray]) -> list[np.ndarray]:
    """Draw every reference model's rows and settings here (one seeded stream), then train them here in turn or
    as one Ray task each (:func:`core.jobs.map_steps`): the draws, hence the numbers, do not depend on where."""
    from core.jobs import map_steps
    from core.training.budget import plan_steps

    n_val = max(1, round(len(X_pop) * config.val_fraction))
    plans = []
    for i in range(k):
        order = rng.permutation(len(X_pop))
        val, train = order[:n_val], order[n_val:n_val + train_size]
        if len(np.unique(y_pop[train])) < n_classes:
            train = order[n_val:]
        # trained as the audited run was: the same step budget for a table of this size
        cfg = plan_steps(dataclasses.replace(config, seed=(config.seed + 1000 + i) % 2**32), len(train))
        plans.append({"train": train, "val": val, "config": cfg.to_dict(), "n_classes": n_classes,
                      "positive_index": positive_index})

    def done(n: int) -> None:
        if progress is not None:
            progress(n / (k + 1), f"trained reference model {n} of {k}")

    out.extend(map_steps(reference_step, [X_pop, y_pop, X_audit], plans, should_stop=should_stop, on_done=done))
    return out


def reference_step(X_pop: np.ndarray, y_pop: np.ndarray, X_audit: np.ndarray, plan: dict[str, Any], *,
                   should_stop: Callable[[], bool] | None = None) -> np.ndarray:
    """Train one reference model on its planned population rows (CPU) and score the audited rows."""
    import torch

    from core.training.config import TrainConfig
    from core.training.loop import fit, predict_proba

    train, val, n_classes = plan["train"], plan["val"], int(plan["n_classes"])
    result = fit(X_pop[train], y_pop[train], X_pop[val], y_pop[val], n_classes=n_classes,
                 config=TrainConfig.from_dict(plan["config"]), device=torch.device("cpu"), should_stop=should_stop,
                 positive_index=int(plan["positive_index"]))
    return predict_proba(result.model, X_audit, n_classes=n_classes)


def audit_arrays(*, run_id: str, model: torch.nn.Module | None, X_members: np.ndarray | None, y_members: np.ndarray,
                 X_nonmembers: np.ndarray | None, y_nonmembers: np.ndarray, n_classes: int, attack: str = "reference",
                 reference_models: int = DEFAULT_REFERENCE_MODELS, X_population: np.ndarray | None = None,
                 y_population: np.ndarray | None = None, config: Any = None, train_size: int | None = None,
                 positive_index: int = 1, member_groups: dict[str, np.ndarray] | None = None,
                 nonmember_groups: dict[str, np.ndarray] | None = None, privacy: dict[str, Any] | None = None,
                 progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                 target_proba: np.ndarray | None = None) -> AuditResult:
    """The audit on arrays (encoded features, class indices); :func:`audit_run` feeds it from a stored run.

    ``target_proba`` gives the audited model's class probabilities of members then non-members directly (an
    uploaded model scored outside torch, or the scores a run stored when it trained); ``model`` and the feature
    arrays are then not used to score, and the loss attack needs neither.
    """
    check_attack(attack, reference_models)
    started = time.perf_counter()
    y_audit = np.concatenate([y_members, y_nonmembers])
    m = len(y_members)
    X_audit = None if X_members is None else np.concatenate([X_members, X_nonmembers])
    if target_proba is not None:
        target = target_proba
    else:
        from core.training.loop import predict_proba

        target = predict_proba(model, X_audit, n_classes=n_classes)
    delta = float(privacy["delta"]) if privacy else 0.0
    scores = {"loss": loss_scores(target, y_audit)}
    notes: list[str] = []
    n_pop = 0 if X_population is None else len(X_population)
    if attack == "reference":
        if n_pop < MIN_POPULATION:
            raise ConfigError(TOO_FEW_POPULATION.format(need=MIN_POPULATION, have=n_pop))
        size = min(train_size or n_pop, int(n_pop * (1 - config.val_fraction)))
        if size < (train_size or size):
            notes.append(f"reference models trained on {size:,} population rows (the run trained on "
                         f"{train_size:,}); with fewer rows they fit less well, which makes the attack conservative.")
        refs = reference_probas(X_population, y_population, X_audit, n_classes=n_classes, config=config,
                                k=reference_models, train_size=size, positive_index=positive_index,
                                progress=progress, should_stop=should_stop)
        scores["reference"] = lira_offline_scores(target, refs, y_audit)
    reports = {name: attack_report(name, s[:m], s[m:], delta=delta) for name, s in scores.items()}
    main = scores[attack]
    by_group = group_table(main[:m], main[m:], member_groups or {}, nonmember_groups or {})
    if progress is not None:
        progress(1.0, "audit done")
    return AuditResult(run_id=run_id, attack=attack, reference_models=reference_models if attack == "reference" else 0,
                       reports=reports, by_group=by_group,
                       epsilon_upper_bound=float(privacy["epsilon"]) if privacy else None,
                       accountant=privacy.get("accountant") if privacy else None, delta=delta if privacy else None,
                       population_rows=n_pop, seconds=time.perf_counter() - started, notes=notes)


def cache_name(attack: str, reference_models: int) -> str:
    return f"audit-{attack}-k{reference_models if attack == 'reference' else 0}.json"


def cached_audit(store: Any, run_id: str, *, attack: str = "reference",
                 reference_models: int = DEFAULT_REFERENCE_MODELS) -> AuditResult | None:
    """The cached audit of this run and setting, or None (:func:`core.runs.read_cache`'s policy)."""
    check_attack(attack, reference_models)
    arts = store.artifacts(run_id)
    name = cache_name(attack, reference_models)
    return read_cache(arts, (name,), lambda: AuditResult.from_dict(arts.read_json(name)))


def stored_target(stored: np.ndarray, rows: AuditRows, n_rows: int) -> np.ndarray:
    """The audited rows' class probabilities (members, then non-members) from the scores training stored."""
    target = stored[np.concatenate([rows.members, rows.nonmembers])] if len(stored) == n_rows else None
    if target is None or np.isnan(target).any():
        raise ArtifactError(DAMAGED.format(names=artifacts.ROW_SCORES))
    return target


def audit_trained_run(store: Any, run_id: str, *, attack: str = "reference",
                      reference_models: int = DEFAULT_REFERENCE_MODELS, progress: Progress | None = None,
                      should_stop: Callable[[], bool] | None = None, use_cache: bool = True) -> AuditResult:
    """Audit a run trained here (cached per attack and K in the run's artifacts); ``core.privacy._run.audit_run``
    is the entry point for every model run."""
    from core.data.spec import encode_labels, sensitive_groups
    from core.training.run_data import load_trained_run

    check_attack(attack, reference_models)
    record = store.get(run_id)
    if record.kind != RunKind.TRAIN:
        raise RunNotFoundError(NOT_TRAINED_HERE.format(run_id=run_id, kind=record.kind))
    if record.status != RunStatus.SUCCEEDED:
        raise RunNotFoundError(NOT_FINISHED.format(run_id=run_id, status=record.status))
    if use_cache:
        hit = cached_audit(store, run_id, attack=attack, reference_models=reference_models)
        if hit is not None:
            return hit
    # the loss attack reads the scores training stored for every split row; the reference attack (and a run stored
    # before they were kept) loads the features and scores the audited rows with the model
    stored = artifacts.load_row_scores(store.artifacts(run_id)) if attack == "loss" else None
    run = load_trained_run(store, run_id, what="audit", features=stored is None)
    arts, split, spec, config, frame = run.arts, run.split, run.spec, run.config, run.frame
    classes, positive_index = run.classes, run.positive_index
    privacy = load_privacy(arts)
    labels = encode_labels(frame, spec)
    # label index per original row (rows without a target were never split)
    y_all = np.full(len(frame), -1, dtype=np.int64)
    y_all[np.flatnonzero(labels.kept)] = labels.y
    rows = choose_audit_rows(split.train, np.concatenate([split.val, split.test]))
    groups = {s.column: sensitive_groups(frame, s).astype(str).to_numpy() for s in spec.sensitive}
    if progress is not None:
        progress(0.02, f"auditing {len(rows.members):,} members against {len(rows.nonmembers):,} non-members")
    if stored is not None:
        target = stored_target(stored, rows, len(frame))
        model = x_members = x_nonmembers = None
    else:
        target, model, x_members, x_nonmembers = None, run.model, run.encode(rows.members), run.encode(rows.nonmembers)
    result = audit_arrays(
        run_id=run_id, model=model, X_members=x_members, y_members=y_all[rows.members],
        X_nonmembers=x_nonmembers, y_nonmembers=y_all[rows.nonmembers], n_classes=len(classes),
        attack=attack, reference_models=reference_models,
        X_population=run.encode(rows.population) if attack == "reference" else None,
        y_population=y_all[rows.population], config=config, train_size=len(split.train),
        positive_index=positive_index, privacy=privacy, progress=progress, should_stop=should_stop,
        member_groups={c: g[rows.members] for c, g in groups.items()},
        nonmember_groups={c: g[rows.nonmembers] for c, g in groups.items()}, target_proba=target)

    def write() -> None:
        arts.write_json(cache_name(attack, reference_models), result.to_dict())
        activity.append(store.home, "audit_run", run_id, {"run_id": run_id, "attack": attack,
                                                          "reference_models": reference_models})
    write_cache(write)
    return result
