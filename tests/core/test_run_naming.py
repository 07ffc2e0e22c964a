"""Display names: built in one place, distinct for plain and private runs, editable, stored by an idempotent step."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from core.cli import main
from core.errors import RunNameError
from core.runs import RunStore
from core.runs._names import clean_name, ensure_names_table
from core.runs._record import RunRecord
from core.runs.naming import display_name


def _record(**changes) -> RunRecord:
    base = dict(id="20261204-153107-abcdef", kind="train", name=None, dataset_id="d", spec={},
                config={"model": "mlp"}, task="x:y", status="succeeded",
                created_at=datetime(2026, 12, 4, 15, 31, 7, tzinfo=UTC))
    return RunRecord(**{**base, **changes})


def test_name_says_model_privacy_and_time():
    assert display_name(_record()) == "Neural network · no privacy · 4 Dec 15:31:07"
    assert display_name(_record(config={"model": "logistic", "target_epsilon": 1.0})) == (
        "Logistic regression · ε 1 · 4 Dec 15:31:07")
    assert display_name(_record(config={"model": "mlp", "noise_multiplier": 1.1})) == (
        "Neural network · DP noise 1.1 · 4 Dec 15:31:07")


def test_mitigated_and_imported_runs_say_what_they_are():
    child = _record(parent_id="20261204-150000-aaaaaa", name="reweighted for equal share selected")
    assert display_name(child) == "Neural network · no privacy · reweighted for equal share selected · 4 Dec 15:31:07"
    imported = _record(kind="import", name="imported: scores.csv", config={"threshold": 0.5})
    assert display_name(imported) == "Imported scores (scores.csv) · 4 Dec 15:31:07"


def test_an_edited_name_wins_and_survives_a_new_store(tmp_path):
    store = RunStore(tmp_path)
    run = store.create_run(kind="train", dataset_id="d", spec={}, config={"model": "mlp"}, task="x:y")
    store.rename(run, "  Baseline for the board  ")
    assert display_name(RunStore(tmp_path).get(run)) == "Baseline for the board"
    assert [display_name(r) for r in RunStore(tmp_path).list()] == ["Baseline for the board"]
    store.rename(run, "")
    assert display_name(store.get(run)).startswith("Neural network · no privacy · ")


@pytest.mark.parametrize(("name", "match"), [("   ", "cannot be empty"), ("x" * 81, "at most 80"),
                                             ("two\nlines", "line breaks")])
def test_bad_names_are_refused_with_a_reason(tmp_path, name, match):
    store = RunStore(tmp_path)
    run = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task="x:y")
    with pytest.raises(RunNameError, match=match):
        clean_name(name)
    with pytest.raises(RunNameError, match=match) if name.strip() else pytest.raises(AssertionError):
        store.rename(run, name)
        raise AssertionError("a blank name resets to the built name instead of failing")


def test_names_step_is_idempotent_and_old_stores_read_without_it(tmp_path):
    store = RunStore(tmp_path)
    run = store.create_run(kind="train", dataset_id="d", spec={}, config={}, task="x:y")
    with sqlite3.connect(store.db_path) as conn:
        ensure_names_table(conn)
        ensure_names_table(conn)
        conn.execute("DROP TABLE run_names")  # a store made before the step existed
    assert RunStore(tmp_path).get(run).custom_name is None
    RunStore(tmp_path).rename(run, "Named later")  # the first write creates the table
    assert RunStore(tmp_path).get(run).custom_name == "Named later"
    store.finish(run, "succeeded")
    RunStore(tmp_path).delete(run)
    with sqlite3.connect(store.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM run_names").fetchone()[0] == 0


def test_runs_json_gives_each_run_its_name_and_plain_and_private_differ(riskboard_home, capsys):
    store = RunStore(riskboard_home)
    plain = store.create_run(kind="train", dataset_id="d", spec={}, config={"model": "mlp"}, task="x:y")
    private = store.create_run(kind="train", dataset_id="d", spec={}, config={"model": "mlp", "target_epsilon": 1},
                               task="x:y")
    for run in (plain, private):
        store.finish(run, "succeeded", metrics={})
    assert main(["runs", "--json"]) == 0
    names = {r["run_id"]: r["name"] for r in json.loads(capsys.readouterr().out)["runs"]}
    assert names[plain] != names[private]
    assert "ε 1" in names[private] and "no privacy" in names[plain]
    assert main(["runs", plain, "--rename", "Board baseline", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Board baseline"
