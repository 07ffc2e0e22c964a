"""Everything a report presents about one run, gathered once into :class:`ReportInputs`.

Gathering only reads: the run record, its stored files (evaluation, manifest), the dataset's meta and table (for
class balance and group sizes) and the analyses' cached results through :mod:`core.report._adapters`. Nothing is
trained, explained or audited here, so building a report takes about a second even for a large table.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shlex
from dataclasses import dataclass, field
from typing import Any

from core import __version__
from core.data.profile import group_sizes
from core.data.schema import leakage_candidates
from core.data.spec import DatasetSpec, class_counts
from core.data.store import DatasetStore
from core.dp import config_is_private
from core.errors import ReportError
from core.models._onnx_inputs import InputMapping
from core.report import _adapters
from core.report._settings import CardText, ReportSettings, Thresholds, load_settings
from core.runs import MODEL_RUN_KINDS, SUCCEEDED, RunKind, RunRecord, RunStore
from core.runs.naming import display_name
from core.training import artifacts
from core.training.classes import class_index

NOT_FINISHED = ("run {run_id} is {status}; a report needs a run that finished successfully. Wait for it to finish "
                "or pick another run.")
VERSIONED = ("torch", "numpy", "pandas", "scikit-learn", "plotly", "shap", "fairlearn", "opacus")
TRAIN_FLAGS = {"model": "--model", "epochs": "--epochs", "batch_size": "--batch-size",
               "learning_rate": "--learning-rate", "seed": "--seed", "target_epsilon": "--epsilon",
               "noise_multiplier": "--noise-multiplier", "delta": "--delta", "max_grad_norm": "--max-grad-norm"}
MAX_LISTED_WARNINGS = 30
NO_CLASS_SCORES = ("run {run_id} was stored with the positive class's scores only, so another class cannot be "
                   "reported; train it again to report on every class.")
#: Run kinds that hold a model's scores (trained here, or imported); other kinds are jobs about a run (an audit).
REPORTABLE_KINDS = MODEL_RUN_KINDS
#: What a report of an uploaded model says it cannot show, and why.
UPLOADED_CANNOT_SHOW = ("How the model was trained, and with what privacy protection, is unknown to Riskboard; the "
                        "reference-model membership attack needs retraining the model, so only the loss attack is "
                        "available (and only when the import named the training rows with --members).")
NOT_A_MODEL_RUN = ("run {run_id} is a job of kind {kind!r}, not a model run; pick the run it worked on (trained "
                   "here or imported) instead.")


@dataclass(frozen=True)
class ReportInputs:
    """The run's facts for every section; explanation / fairness / audit are the analyses' ``--json`` objects
    (None when not run), ``fairness`` keyed by slicing (a sensitive column, or an intersection)."""

    run: dict[str, Any]
    data: dict[str, Any]
    training: dict[str, Any]
    evaluation: dict[str, Any] | None
    history: list[dict[str, Any]]
    explanation: dict[str, Any] | None
    fairness: dict[str, dict[str, Any]] | None
    privacy: dict[str, Any]
    audit: dict[str, Any] | None
    provenance: dict[str, Any]
    thresholds: Thresholds = field(default_factory=Thresholds)
    text: CardText = field(default_factory=CardText)
    sensitive: tuple[str, ...] = field(default_factory=tuple)
    thresholds_are_defaults: bool = False

    @property
    def run_id(self) -> str:
        return str(self.run["id"])

    @property
    def imported(self) -> bool:
        return self.run.get("kind") == RunKind.IMPORT


def package_versions() -> dict[str, str]:
    """Versions of Python, Riskboard and the libraries that shape the numbers (metadata only, nothing imported)."""
    versions = {"python": platform.python_version(), "riskboard": __version__}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def reproduce_command(record: RunRecord, source_name: str) -> str:
    """The ``python -m core`` line that makes this run again from the same file (settings not on the command
    line are listed after it when they differ from the defaults)."""
    spec = record.spec or {}
    config = record.config or {}
    if record.is_uploaded_model:
        return _import_model_command(record, source_name)
    if record.is_imported:
        parts = ["python -m core import", shlex.quote(source_name), "--label", shlex.quote(str(spec.get("target")))]
        if config.get("score_column"):
            parts += ["--score", shlex.quote(str(config["score_column"]))]
        parts += ["--positive", shlex.quote(str(spec.get("positive_class")))]
        for item in spec.get("sensitive", []):
            parts += ["--sensitive", shlex.quote(str(item.get("column")))]
        return " ".join(parts)
    parts = ["python -m core train", shlex.quote(source_name), "--target", shlex.quote(str(spec.get("target"))),
             "--positive", shlex.quote(str(spec.get("positive_class")))]
    if spec.get("features"):
        parts += ["--features", *(shlex.quote(str(c)) for c in spec["features"])]
    if spec.get("sensitive"):
        parts += ["--sensitive", *(shlex.quote(str(s.get("column"))) for s in spec["sensitive"])]
    private = config_is_private(config)
    for key, flag in TRAIN_FLAGS.items():
        dp_only = key in ("delta", "max_grad_norm")
        if config.get(key) is not None and (private or not dp_only):
            parts += [flag, shlex.quote(str(config[key]))]
    from core.training.config import TrainConfig

    defaults = TrainConfig().to_dict()
    extra = {k: v for k, v in config.items() if k not in TRAIN_FLAGS and defaults.get(k, object()) != v
             and (private or k not in ("accountant",))}
    if extra:
        parts.append("# with " + ", ".join(f"{k}={v}" for k, v in sorted(extra.items())))
    return " ".join(parts)


def _import_model_command(record: RunRecord, source_name: str) -> str:
    spec, config = record.spec or {}, record.config or {}
    parts = ["python -m core import-model", shlex.quote(str(config.get("source"))), "--data",
             shlex.quote(source_name), "--target", shlex.quote(str(spec.get("target"))), "--positive",
             shlex.quote(str(spec.get("positive_class")))]
    if spec.get("features"):
        parts += ["--features", *(shlex.quote(str(c)) for c in spec["features"])]
    if spec.get("sensitive"):
        parts += ["--sensitive", *(shlex.quote(str(s.get("column"))) for s in spec["sensitive"])]
    if config.get("members_column"):
        parts += ["--members", shlex.quote(str(config["members_column"]))]
    if config.get("threshold", 0.5) != 0.5:
        parts += ["--threshold", shlex.quote(str(config["threshold"]))]
    return " ".join(parts)


def _uploaded_section(store: RunStore, record: RunRecord) -> dict[str, Any]:
    config, metrics = dict(record.config or {}), record.metrics or {}
    detail = artifacts.onnx_detail(store.artifacts(record.id))
    return {"kind": RunKind.UPLOADED, "source": config.get("source"), "model_sha256": detail.get("sha256"),
            "inputs": InputMapping.from_dict(detail["mapping"]).rows(), "output": detail.get("output"),
            "fast_path": detail.get("fast_path"), "members_column": config.get("members_column"),
            "threshold": config.get("threshold", 0.5), "rows": metrics.get("test_rows"),
            "cannot_show": UPLOADED_CANNOT_SHOW}


def _data_section(datasets: DatasetStore, record: RunRecord, spec: DatasetSpec) -> dict[str, Any]:
    meta = datasets.meta(record.dataset_id)
    frame = datasets.load(record.dataset_id, columns=[spec.target, *spec.features, *spec.sensitive_columns])
    counts = class_counts(frame, spec.target)
    groups = group_sizes(frame, spec.sensitive)
    warnings = list(meta.warnings)
    used = {spec.target, *spec.features, *spec.sensitive_columns}
    for column in meta.schema.get("columns", []):
        if column.get("name") in used:
            warnings += [f"{column['name']}: {w}" for w in column.get("warnings", [])]
    if not record.is_imported:
        warnings += [str(w) for w in leakage_candidates(frame[[spec.target, *spec.features]], spec.target)]
    return {
        "source": meta.name, "dataset_id": meta.id, "rows": int(meta.rows), "columns": int(meta.columns),
        "format": meta.format, "uploaded_at": meta.uploaded_at, "target": spec.target,
        "positive_class": spec.positive_class, "features": list(spec.features),
        "class_counts": {str(k): int(v) for k, v in counts.items()},
        "groups": {str(col): {str(k): int(v) for k, v in sizes.items()} for col, sizes in groups.items()},
        "warnings": warnings[:MAX_LISTED_WARNINGS], "warnings_total": len(warnings),
    }


def _training_section(store: RunStore, record: RunRecord) -> dict[str, Any]:
    if record.is_uploaded_model:
        return _uploaded_section(store, record)
    metrics = record.metrics or {}
    config = dict(record.config or {})
    if record.is_imported:
        arts = store.artifacts(record.id)
        detail = arts.read_json("import.json") if arts.has("import.json") else {}
        column = config.get("score_column") or config.get("decision_column")
        return {"kind": RunKind.IMPORT, "source": config.get("source") or detail.get("source"), "column": column,
                "column_kind": "score" if config.get("score_column") else "decision",
                "has_scores": bool(detail.get("has_scores", config.get("score_column") is not None)),
                "threshold": config.get("threshold", 0.5), "rows": detail.get("rows", metrics.get("test_rows"))}
    return {"kind": RunKind.TRAIN, "model": config.get("model"), "config": config, "device": record.device,
            "seed": config.get("seed"), "epochs_run": metrics.get("epochs_run"),
            "best_epoch": metrics.get("best_epoch"),
            "batch_size_used": metrics.get("batch_size_used"), "seconds": metrics.get("seconds"),
            "train_rows": metrics.get("train_rows"), "test_rows": metrics.get("test_rows")}


def _hash_of(arts, name: str) -> str | None:
    files = arts.manifest() or {}
    entry = files.get(name)
    return str(entry["sha256"]) if entry and entry.get("sha256") else None


def class_evaluation(arts, record: RunRecord, chosen: int, classes: tuple[str, ...]) -> dict[str, Any]:
    """The test evaluation with class ``chosen`` as the positive one (one-vs-rest), from the stored scores of every
    class; a run stored without them (trained before they were kept) gets a plain error."""
    from core.training.evaluate import evaluate

    scores = artifacts.load_test_scores(arts)
    columns = [f"{artifacts.CLASS_SCORE_PREFIX}{k}" for k in range(len(classes))]
    if not set(columns) <= set(scores.columns):
        raise ReportError(NO_CLASS_SCORES.format(run_id=record.id))
    threshold = float((record.config or {}).get("threshold", 0.5))
    proba = scores[columns].to_numpy(dtype=float)
    return evaluate(scores["y_true"].to_numpy(), proba, positive_index=chosen, threshold=threshold,
                    class_names=list(classes)).to_dict()


def gather_inputs(store: RunStore, run_id: str, *, settings: ReportSettings | None = None,
                  with_data: bool = True, class_name: str | None = None) -> ReportInputs:
    """Read everything the report shows about ``run_id``; typed errors for an unfinished or damaged run.

    ``with_data=False`` skips the table (class balance, group sizes, leakage scan): enough for checks and
    comparisons, which need only the run's own results. ``class_name`` is the class the report covers (its
    metrics, curves, explanations and fairness one-vs-rest; the other classes are summarised in the per-class
    table); default the run's positive class.
    """
    record = store.get(run_id)
    if record.kind not in REPORTABLE_KINDS:
        raise ReportError(NOT_A_MODEL_RUN.format(run_id=run_id, kind=record.kind))
    if record.status != SUCCEEDED:
        raise ReportError(NOT_FINISHED.format(run_id=run_id, status=record.status))
    datasets = DatasetStore(store.home)
    spec = DatasetSpec.from_dict(record.spec)
    settings = settings or load_settings(store.home, record.dataset_id, spec.sensitive_columns)
    arts = store.artifacts(run_id)
    arts.require_folder()
    evaluation = artifacts.load_evaluation(arts)
    classes = tuple(str(c) for c in evaluation.get("class_names", []))
    positive = int(evaluation.get("positive_index", 1))
    chosen = class_index(classes, positive, class_name, error=ReportError) if classes else positive
    if chosen != positive:
        evaluation = class_evaluation(arts, record, chosen, classes)
    if with_data:
        data = _data_section(datasets, record, spec)
    else:
        data = {"source": datasets.meta(record.dataset_id).name, "dataset_id": record.dataset_id,
                "target": spec.target, "positive_class": spec.positive_class}
    run = {"id": record.id, "kind": record.kind, "name": display_name(record), "status": record.status,
           "created_at": record.created_at.isoformat(), "device": record.device, "parent_id": record.parent_id,
           "finished_at": record.finished_at.isoformat() if record.finished_at else None,
           "class": classes[chosen] if classes else spec.positive_class, "classes": list(classes)}
    weights = None if record.is_imported else _hash_of(
        arts, artifacts.MODEL_ONNX if record.is_uploaded_model else artifacts.MODEL_WEIGHTS)
    provenance = {"run_id": record.id, "dataset_sha256": record.dataset_id, "weights_sha256": weights,
                  "scores_sha256": _hash_of(arts, artifacts.TEST_SCORES), "versions": package_versions(),
                  "command": reproduce_command(record, data["source"])}
    return ReportInputs(
        run=run, data=data, training=_training_section(store, record), evaluation=evaluation,
        history=store.epochs(run_id),
        explanation=_adapters.explanation_for(store, record, None if chosen == positive else chosen),
        fairness=_adapters.fairness_for(store, record, classes[chosen] if classes else None),
        privacy=_adapters.privacy_for(store, record),
        audit=_adapters.audit_for(store, record), provenance=provenance, thresholds=settings.thresholds,
        text=settings.text, sensitive=spec.sensitive_columns, thresholds_are_defaults=settings.defaults)
