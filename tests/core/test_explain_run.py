"""Explaining a stored run: cache keyed by its settings, damaged cache recomputed, typed errors, the CLI contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import jobs
from core.cli import main
from core.data.demo import synthetic_biased
from core.data.spec import DatasetSpec, SensitiveColumn
from core.data.store import DatasetStore
from core.errors import ArtifactError, ExplainError, RunNotFoundError
from core.explain import METHOD_DEEPLIFT, explain_run, load_run
from core.explain import _run as run_module
from core.explain._run import BAD_ROWS, IMPORTED, LINEAR_ONLY, NOT_FINISHED, cache_names
from core.runs import RunStore
from core.training.config import TrainConfig
from core.training.pipeline import TASK

LOANS = {"target": "approved", "positive_class": "yes",
         "features": ("income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"),
         "sensitive": (SensitiveColumn("group"),)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("explain-home")
    datasets = DatasetStore(home)
    meta = datasets.add(synthetic_biased(1500, seed=2).to_csv(index=False).encode(), "loans.csv")
    spec = DatasetSpec(dataset_id=meta.id, **LOANS)
    store = RunStore(home)
    config = TrainConfig(hidden=(16,), epochs=6, batch_size=128, learning_rate=1e-2).to_dict()
    run_id = store.create_run(kind="train", dataset_id=meta.id, spec=spec.to_dict(), config=config, task=TASK)
    jobs.run_inline(store, run_id, TASK)
    return home, store, run_id, meta.id, spec


def test_explains_test_rows_in_original_units(trained):
    _, store, run_id, _, _ = trained
    run = load_run(store, run_id)
    result = explain_run(store, run_id, rows=120, background=50, seed=1, run=run)
    assert result.method == METHOD_DEEPLIFT and result.n_rows == 120 and result.total_rows == len(run.test)
    assert set(result.rows.tolist()) <= set(run.test.index.tolist())
    assert result.feature_names == LOANS["features"]
    assert set(result.data["segment"].unique()) <= {"retail", "business", "student"}
    assert result.additivity_max_error < 1e-4
    scored = run.scorer.score(run.test.loc[result.rows])
    np.testing.assert_allclose(result.scores, scored["logit"], atol=1e-5)
    assert run.sensitive == ("group",) and run.positive == "yes"


def test_second_call_hits_the_cache(trained, monkeypatch):
    _, store, run_id, _, _ = trained
    first = explain_run(store, run_id, rows=80, background=40, seed=2)
    names = cache_names(80, 40, 2, METHOD_DEEPLIFT)
    assert all(store.artifacts(run_id).has(name) for name in names)

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(run_module, "explain_rows", fail)
    again = explain_run(store, run_id, rows=80, background=40, seed=2)
    np.testing.assert_array_equal(again.values, first.values)
    assert again.data.equals(first.data) and again.rank_intervals == first.rank_intervals
    with pytest.raises(AssertionError, match="recomputed"):  # another key is another computation
        explain_run(store, run_id, rows=80, background=40, seed=3)


def test_damaged_cache_is_discarded_and_recomputed(trained):
    _, store, run_id, _, _ = trained
    first = explain_run(store, run_id, rows=60, background=30, seed=4)
    arts = store.artifacts(run_id)
    _, values_name, _ = cache_names(60, 30, 4, METHOD_DEEPLIFT)
    (arts.folder / values_name).write_bytes(b"torn")
    again = explain_run(store, run_id, rows=60, background=30, seed=4)
    np.testing.assert_allclose(again.values, first.values, atol=1e-9)
    assert arts.read_parquet(values_name) is not None  # rewritten and listed in the manifest again


def test_unusable_runs_raise_typed_errors(trained):
    _home, store, run_id, dataset_id, spec = trained
    with pytest.raises(RunNotFoundError):
        explain_run(store, "20990101-000000-abcdef")
    queued = store.create_run(kind="train", dataset_id=dataset_id, spec=spec.to_dict(),
                              config=TrainConfig().to_dict(), task=TASK)
    with pytest.raises(ExplainError, match=NOT_FINISHED.format(run_id=queued, status="queued")):
        explain_run(store, queued)
    imported = store.create_run(kind="import", dataset_id=dataset_id, spec=spec.to_dict(), config={}, task=TASK)
    with pytest.raises(ExplainError, match=IMPORTED.format(run_id=imported)[:60]):
        explain_run(store, imported)
    with pytest.raises(ExplainError, match=BAD_ROWS.format(limit=100_000, value=0)[:40]):
        explain_run(store, run_id, rows=0)
    with pytest.raises(ExplainError, match=LINEAR_ONLY.format(deeplift=METHOD_DEEPLIFT)[:40]):
        explain_run(store, run_id, method="linear-exact")


def test_damaged_model_is_reported(trained):
    _, store, run_id, _, _ = trained
    weights = store.artifacts(run_id).folder / "model.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(b"not weights")
    try:
        with pytest.raises(ArtifactError, match=r"model\.safetensors"):
            explain_run(store, run_id, rows=10, background=5, seed=99)
    finally:
        weights.write_bytes(original)


def test_cli_prints_the_contract(trained, monkeypatch, capsys):
    home, store, run_id, _, _ = trained
    monkeypatch.setenv("RISKBOARD_HOME", str(home))
    assert main(["explain", run_id, "--rows", "90", "--background", "30", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {"run_id", "method", "output", "rows", "background", "seconds", "additivity_max_error",
                         "importance"}
    assert body["run_id"] == run_id and body["rows"] == 90 and body["background"] == 30
    assert isinstance(body["seconds"], float) and body["additivity_max_error"] < 1e-4
    values = [item["mean_abs_shap"] for item in body["importance"]]
    assert values == sorted(values, reverse=True)
    assert {item["feature"] for item in body["importance"]} == set(LOANS["features"])
    assert all(low <= high for low, high in (item["rank_interval"] for item in body["importance"]))
    assert main(["explain", run_id, "--rows", "90", "--background", "30"]) == 0
    assert "attributions add up to the score within" in capsys.readouterr().out
    assert main(["explain", run_id, "--rows", "40", "--background", "10", "--kmeans", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["background"] == 10
    assert store.artifacts(run_id).has(cache_names(40, 10, 0, METHOD_DEEPLIFT, "kmeans")[0])
    assert main(["explain", "nope", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
