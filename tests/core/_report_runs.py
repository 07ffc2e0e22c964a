"""Runs for report, check and compare tests: a small trained run with hostile column names, and an imported-style
run set up by hand with RunArtifacts (scores from a model trained elsewhere, as issue 9's import writes them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core import jobs
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.models.split import SplitIndices
from core.runs import SUCCEEDED, RunStore
from core.training import artifacts
from core.training.config import TrainConfig
from core.training.evaluate import evaluate
from core.training.pipeline import TASK

HOSTILE = "<script>alert(1)</script>"
HOSTILE_GROUP = "<img src=x onerror=alert(2)>"


def hostile_frame(n: int = 600, seed: int = 1) -> pd.DataFrame:
    frame = synthetic_biased(n, seed=seed).rename(columns={"noise": HOSTILE})
    frame["group"] = frame["group"].map({"A": "A", "B": HOSTILE_GROUP})
    return frame


def train_run(home: Path, *, frame: pd.DataFrame | None = None, name: str = "loans mlp", **config) -> tuple[RunStore,
                                                                                                           str]:
    frame = hostile_frame() if frame is None else frame
    datasets = DatasetStore(home)
    meta = datasets.add(frame.to_csv(index=False).encode(), "loans <b>v2</b>.csv")
    features = tuple(c for c in frame.columns if c != "approved")
    spec = DatasetSpec(dataset_id=meta.id, target="approved", positive_class="yes", features=features,
                       sensitive=(SensitiveColumn("group"),), name=name)
    datasets.save_spec(spec)
    runs = RunStore(home)
    settings = {"epochs": 3, "batch_size": 64} | config
    run_id = runs.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(),
                             config=TrainConfig(**settings).to_dict(), task=TASK, name=name)
    jobs.run_inline(runs, run_id, TASK)
    assert runs.get(run_id).status == SUCCEEDED, runs.get(run_id).error
    return runs, run_id


def import_run(home: Path, n: int = 400, seed: int = 3) -> tuple[RunStore, str]:
    """An "import" run: label + score columns from elsewhere; split, labels, scores, evaluation and import.json."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.4, "q", "p")
    label = (rng.random(n) < np.where(group == "p", 0.5, 0.3)).astype(int)
    score = np.clip(0.35 * label + rng.random(n) * 0.65, 0, 1).round(4)
    frame = pd.DataFrame({"label": label, "score": score, "grp": group})
    datasets = DatasetStore(home)
    meta = datasets.add(frame.to_csv(index=False).encode(), "vendor-scores.csv")
    spec = DatasetSpec(dataset_id=meta.id, target="label", positive_class="1", features=("grp",),
                       sensitive=(SensitiveColumn("grp"),), name="vendor model")
    runs = RunStore(home)
    config = {"source": "vendor-scores.csv", "score_column": "score", "decision_column": None, "threshold": 0.5}
    run_id = runs.create_run(kind="import", dataset_id=meta.id, spec=spec.to_dict(), config=config,
                             task="core.fairness._imports:execute_import", name="vendor model")
    arts = runs.artifacts(run_id)
    rows = np.arange(n, dtype=np.int64)
    proba = np.column_stack([1 - score, score])
    predicted = (score >= 0.5).astype(np.int64)
    empty = np.empty(0, dtype=np.int64)
    artifacts.save_split(arts, SplitIndices(train=empty, val=empty, test=rows))
    artifacts.save_labels(arts, ("0", "1"), 1)
    artifacts.save_test_scores(arts, rows, label, proba, positive_index=1, predicted=predicted)
    evaluation = evaluate(label, proba, positive_index=1, threshold=0.5, class_names=["0", "1"]).to_dict()
    artifacts.save_evaluation(arts, evaluation)
    arts.write_json("import.json", {"source": "vendor-scores.csv", "column": "score", "has_scores": True, "rows": n})
    runs.finish(run_id, SUCCEEDED, metrics={k: v for k, v in evaluation["metrics"].items() if v is not None}
                | {"test_rows": float(n)})
    return runs, run_id


def fairness_result(value: float, low: float, high: float) -> dict:
    """A ``fairness --json`` object (the contract of issue 9) with the given demographic parity gap."""
    return {"run_id": "x", "groups": [
        {"group": "A", "count": 60, "selection_rate": 0.4, "tpr": 0.7, "fpr": 0.1, "accuracy": 0.8, "small": False},
        {"group": HOSTILE_GROUP, "count": 30, "selection_rate": 0.4 - value, "tpr": 0.6, "fpr": 0.1,
         "accuracy": 0.78, "small": False}],
        "disparities": {"demographic_parity_difference": {"value": value, "ci": [low, high]},
                        "equalized_odds_difference": {"value": 0.1, "ci": [0.02, 0.2]},
                        "equal_opportunity_difference": {"value": 0.1, "ci": [0.0, 0.2]},
                        "demographic_parity_ratio": {"value": 0.8, "ci": [0.6, 0.95]}}}


def explain_result(run_id: str) -> dict:
    """An ``explain --json`` object (the contract of issue 8)."""
    return {"run_id": run_id, "method": "deeplift", "rows": 90, "background": 200, "seconds": 0.1,
            "additivity_max_error": 3e-6, "importance": [
                {"feature": "income_k", "mean_abs_shap": 1.2, "rank_interval": [1, 1]},
                {"feature": HOSTILE, "mean_abs_shap": 0.05, "rank_interval": [4, 6]}],
            "by_group": {"group": {"A": {"rows": 60, "top": [{"feature": "income_k", "mean_abs_shap": 1.1}]},
                                   HOSTILE_GROUP: {"rows": 30, "top": [{"feature": HOSTILE, "mean_abs_shap": 0.4}]}}}}


def audit_result(run_id: str) -> dict:
    """An ``audit --json`` object (the contract of issue 10)."""
    return {"run_id": run_id, "attack": "loss", "attack_auc": 0.53, "tpr_at_fpr": {"0.001": 0.0, "0.01": 0.012},
            "epsilon_lower_bound": 0.1, "epsilon_lower_bound_ci": [0.0, 0.6], "epsilon_ceiling": 3.1,
            "epsilon_upper_bound": None,
            "by_group": {"group": {"A": {"n_members": 50, "n_nonmembers": 50, "attack_auc": 0.52,
                                         "tpr_at_fpr_0.01": 0.01, "small": False},
                                   HOSTILE_GROUP: {"n_members": 20, "n_nonmembers": 20, "attack_auc": 0.6,
                                                   "tpr_at_fpr_0.01": 0.05, "small": True}}}}
