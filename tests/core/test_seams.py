"""The single places issue 14 folded copies into: run kinds and statuses, the run's display name, "is this run
private?", the number formatter, the time-left estimate, the budget view, the accuracy-cost sentence and the
leakage review of the Data page."""

from __future__ import annotations

import math

import pytest

from core.data.profile import review_leaks
from core.data.schema import LeakageWarning
from core.dp import HEAT_EPOCHS, HEAT_NOISE, budget_view, compute_epsilon, is_private, plan_budget, spent_epsilon
from core.privacy import cost_evidence
from core.runs import JOB_KINDS, MODEL_RUN_KINDS, SUCCEEDED, RunKind, RunStatus, RunStore
from core.runs.naming import display_name
from core.text import format_number
from core.timeleft import format_seconds, time_left


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "home")


def _run(store: RunStore, kind: str, *, config: dict | None = None, metrics: dict | None = None,
         name: str | None = None) -> str:
    run_id = store.create_run(kind=kind, dataset_id="d", spec={}, config=config or {}, task="m:f", name=name)
    store.finish(run_id, SUCCEEDED, metrics=metrics or {})
    return run_id


def test_model_runs_and_jobs_are_distinct_kinds():
    assert set(MODEL_RUN_KINDS) == {RunKind.TRAIN, RunKind.IMPORT, RunKind.UPLOADED}
    assert JOB_KINDS == (RunKind.AUDIT,)
    assert RunKind.UPLOADED.is_model and not RunKind.AUDIT.is_model
    assert RunKind("import") is RunKind.IMPORT and RunKind.IMPORT == "import"
    assert [str(s) for s in RunStatus] == ["queued", "running", "succeeded", "failed", "cancelled"]
    assert repr(RunKind.AUDIT) == "'audit'"


def test_store_lists_model_runs_only_and_a_job_names_its_run(store: RunStore):
    trained = _run(store, RunKind.TRAIN)
    imported = _run(store, RunKind.IMPORT)
    audit = store.create_run(kind=RunKind.AUDIT, dataset_id="d", spec={}, config={"target_run": trained}, task="m:f")
    listed = [r.id for r in store.list(kinds=MODEL_RUN_KINDS)]
    assert sorted(listed) == sorted([trained, imported])
    assert [r.id for r in store.list(status=SUCCEEDED, kinds=(RunKind.TRAIN,))] == [trained]
    job = store.get(audit)
    assert job.kind is RunKind.AUDIT and job.is_job and not job.is_model_run
    assert job.belongs_to == trained
    assert store.get(imported).is_model_run and store.get(trained).belongs_to is None
    assert store.get(trained).status is RunStatus.SUCCEEDED


def test_display_name_is_the_given_name_or_what_the_run_is(store: RunStore):
    named = store.get(_run(store, RunKind.TRAIN, name="loans v2"))
    unnamed = store.get(_run(store, RunKind.IMPORT))
    assert display_name(named) == "loans v2"
    assert display_name(unnamed) == f"Imported scores · {unnamed.created_at:%-d %b %H:%M:%S}"


def test_one_answer_to_is_this_run_private(store: RunStore):
    private = store.get(_run(store, RunKind.TRAIN, config={"target_epsilon": 2.0}, metrics={"epsilon": 1.5}))
    plain = store.get(_run(store, RunKind.TRAIN, config={"target_epsilon": None}, metrics={"roc_auc": 0.8}))
    imported = store.get(_run(store, RunKind.IMPORT, config={"noise_multiplier": 1.0}, metrics={"epsilon": 1.0}))
    assert is_private(private) and not is_private(plain) and not is_private(imported)
    assert spent_epsilon(private) == 1.5
    assert spent_epsilon(plain) is None and spent_epsilon(imported) is None


@pytest.mark.parametrize(("value", "kwargs", "shown"), [
    (None, {}, "–"), (float("nan"), {}, "–"), (1234, {}, "1,234"), (0.12345, {}, "0.123"),
    (1234.5, {"grouped": True, "digits": 1}, "1,234.5"), (1234.5, {"digits": 1}, "1234.5"),
    (math.inf, {"infinite": "inf"}, "inf"), (True, {}, None), ("text", {}, None),
])
def test_format_number(value, kwargs, shown):
    assert format_number(value, **kwargs) == shown


def test_time_left_is_the_pace_so_far():
    assert time_left(10.0, 2, 5) == 15.0
    assert time_left(30.0, 0.25, 1.0) == 90.0
    assert time_left(5.0, 0, 10) is None
    assert time_left(5.0, 12, 10) == 0.0
    assert format_seconds(185) == "3 min 05 s" and format_seconds(-1) == "–"


def test_budget_view_uses_the_accountant_of_training():
    view = budget_view(rows=10_000, batch_size=100, epochs=4, noise_multiplier=1.0, target_epsilon=None, delta=1e-5,
                       accountant="rdp")
    plan = plan_budget(rows=10_000, batch_size=100, epochs=4, noise_multiplier=1.0, delta=1e-5, accountant="rdp")
    assert view["plan"] == plan.to_dict()
    assert view["epochs"] == [1, 2, 3, 4]
    last = compute_epsilon(noise_multiplier=1.0, sample_rate=0.01, steps=400, delta=1e-5, accountant="rdp")
    assert view["epsilons"][-1] == pytest.approx(last.epsilon, rel=1e-12)
    assert len(view["grid"]) == len(HEAT_NOISE) and len(view["grid"][0]) == len(HEAT_EPOCHS)


def test_cost_evidence_compares_private_runs_with_the_best_plain_run():
    points = [{"epsilon": None, "roc_auc": 0.9}, {"epsilon": None, "roc_auc": 0.85}, {"epsilon": 2.0, "roc_auc": 0.8}]
    assert cost_evidence(points) == ("Accuracy cost seen on this dataset: ε 2.00: test AUC 0.800 (-0.100 vs the best "
                                     "non-private run, 0.900).")
    assert cost_evidence(points[:2]) is None


def test_leak_review_reads_columns_not_message_text():
    leaks = [LeakageWarning("it's", "identical", "column \"it's\" repeats the target"),
             LeakageWarning("score", "predicts", "column 'score' predicts the target")]
    review = review_leaks(leaks, ["score", "age"])
    assert review.left_out == ("it's",)
    assert [w.column for w in review.selected] == ["score"]
