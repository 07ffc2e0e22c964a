"""The activity log: a hash chain that ``log --verify`` checks, and appends from two processes that keep it valid."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3

from core import jobs
from core.cli import main
from core.runs import RunStore
from core.security import activity
from core.security.actor import Actor, acting_as


def _append_many(home: str, who: str, count: int) -> None:
    for i in range(count):
        activity.append(home, "explained", f"run-{i}", {"rows": i}, actor=who)


def test_entries_chain_and_hash_is_canonical_json(riskboard_home):
    first = activity.append(riskboard_home, "dataset_added", "abc", {"rows": 3})
    second = activity.append(riskboard_home, "spec_saved", "s1", {"dataset_id": "abc"})
    assert first.prev_hash == activity.GENESIS and second.prev_hash == first.hash

    body = {k: getattr(second, k) for k in ("seq", "at", "actor", "action", "subject", "details", "prev_hash")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert second.hash == hashlib.sha256(text.encode()).hexdigest()
    assert activity.head(riskboard_home) == second.hash
    assert activity.verify(riskboard_home).ok


def test_log_cli_filters_and_json(riskboard_home, capsys):
    activity.append(riskboard_home, "run_started", "r1", {"kind": "train"}, actor="alice")
    activity.append(riskboard_home, "explained", "r1", {"run_id": "r1"}, actor="bob")
    activity.append(riskboard_home, "run_started", "r2", {}, actor="alice")
    assert main(["log", "--run", "r1", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [e["seq"] for e in body["entries"]] == [1, 2]
    assert main(["log", "--actor", "alice", "--action", "run_started", "--json"]) == 0
    assert [e["subject"] for e in json.loads(capsys.readouterr().out)["entries"]] == ["r1", "r2"]
    assert main(["log", "--action", "nonsense"]) == 2


def _tamper(home, sql: str) -> None:
    conn = sqlite3.connect(home / "runs.sqlite")
    conn.executescript("DROP TRIGGER activity_no_update; DROP TRIGGER activity_no_delete; " + sql)
    conn.close()


def test_verify_finds_a_changed_entry(riskboard_home, capsys):
    for i in range(4):
        activity.append(riskboard_home, "explained", f"r{i}")
    assert main(["log", "--verify"]) == 0
    _tamper(riskboard_home, "UPDATE activity SET actor = 'someone-else' WHERE seq = 3;")
    assert main(["log", "--verify"]) == 1
    assert "altered at entry 3" in capsys.readouterr().out


def test_verify_finds_a_removed_entry(riskboard_home, capsys):
    for i in range(4):
        activity.append(riskboard_home, "explained", f"r{i}")
    _tamper(riskboard_home, "DELETE FROM activity WHERE seq = 2;")
    assert main(["log", "--verify", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad_seq"] == 3


def _drop_the_tail(home, keep: int, *, head_table_too: bool = False) -> None:
    """What someone with write access to runs.sqlite does to hide the newest entries."""
    sql = f"DELETE FROM activity WHERE seq > {keep};"
    if head_table_too:
        sql = ("DROP TRIGGER activity_head_no_delete; DELETE FROM activity_head; " + sql +
               "INSERT INTO activity_head SELECT 1, seq, hash FROM activity ORDER BY seq DESC LIMIT 1;")
    _tamper(home, sql)


def test_verify_finds_the_newest_entries_removed(riskboard_home, capsys):
    for i in range(5):
        activity.append(riskboard_home, "explained", f"r{i}")
    assert activity.read_head_file(riskboard_home) == (5, activity.head(riskboard_home))
    _drop_the_tail(riskboard_home, keep=3)
    assert main(["log", "--verify", "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert (body["first_bad_seq"], body["head_seq"]) == (4, 3)
    assert "entries 4 to 5 are missing" in body["reason"]


def test_the_head_file_catches_a_tail_cut_that_also_rewrote_the_head_table(riskboard_home, capsys):
    for i in range(5):
        activity.append(riskboard_home, "explained", f"r{i}")
    _drop_the_tail(riskboard_home, keep=4, head_table_too=True)
    assert main(["log", "--verify"]) == 1
    assert "altered at entry 5: entry 5 is missing: activity-head.json" in capsys.readouterr().out


def test_appends_after_a_tail_cut_keep_the_evidence(riskboard_home):
    for i in range(5):
        activity.append(riskboard_home, "explained", f"r{i}")
    _drop_the_tail(riskboard_home, keep=2)
    for i in range(4):  # the app keeps working (seq 3 to 6 again), but the recorded head still names the old entry 5
        activity.append(riskboard_home, "explained", f"later{i}")
    result = activity.verify(riskboard_home)
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 5, 6)
    assert activity.read_head_file(riskboard_home)[0] == 5


def test_verify_checks_a_head_copied_from_a_report(riskboard_home, capsys):
    for i in range(3):
        activity.append(riskboard_home, "explained", f"r{i}")
    printed = f"2:{activity.entries(riskboard_home)[1].hash}"
    assert main(["log", "--verify", "--head", printed]) == 0
    assert main(["log", "--verify", "--head", f"2:{'0' * 64}"]) == 1
    assert "entry 2" in capsys.readouterr().out
    assert main(["log", "--verify", "--head", "2:nothex"]) == 2
    assert main(["log", "--head", printed]) == 2


def test_log_refuses_updates_and_deletes(riskboard_home):
    activity.append(riskboard_home, "explained", "r")
    conn = sqlite3.connect(riskboard_home / "runs.sqlite")
    for sql in ("UPDATE activity SET actor = 'x'", "DELETE FROM activity"):
        try:
            conn.execute(sql)
        except sqlite3.IntegrityError as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{sql} was allowed")
    conn.close()


def test_two_processes_appending_at_once_keep_the_chain_valid(riskboard_home):
    activity.append(riskboard_home, "dataset_added", "first")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(riskboard_home), who, 40)) for who in ("p1", "p2")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    result = activity.verify(riskboard_home)
    entries = activity.entries(riskboard_home)
    assert result.ok and result.entries == len(entries)
    assert sorted(e.seq for e in entries) == list(range(1, len(entries) + 1))  # no gap, no fork, no lost append
    assert activity.read_head_file(riskboard_home) == (len(entries), result.head)  # the last commit's head, not older
    mine = [e for e in entries if e.actor in ("p1", "p2")]
    expected = sorted((who, f"run-{i}") for who in ("p1", "p2") for i in range(40))
    assert sorted((e.actor, e.subject) for e in mine) == expected


def _whoami(store, run_id, *, should_stop):
    activity.append(store.home, "audit_run", run_id, {"run_id": run_id})
    return {"ok": 1.0}


def test_a_worker_acts_for_whoever_started_the_run(riskboard_home):
    runs = RunStore(riskboard_home)
    with acting_as(Actor("alice")):
        run_id = runs.create_run(kind="audit", dataset_id="d", spec={}, config={}, task="tests.core._jobtasks:quick")
    jobs.run_inline(runs, run_id, _whoami)  # this process is the command line, yet the work is alice's
    found = activity.entries(riskboard_home, run=run_id)
    assert [(e.action, e.actor) for e in found] == [("run_started", "alice"), ("audit_run", "alice"),
                                                    ("run_finished", "alice")]


def test_details_in_words_for_people_exact_pairs_for_the_csv():
    details = {"rows": 1000000, "epsilon": 1.23456, "sensitive": ["sex", "race"], "encrypted": True,
               "data_keys": [], "from": "k1"}
    assert activity.details_text(details) == ("rows 1,000,000 · epsilon 1.235 · sensitive sex, race · encrypted yes · "
                                              "data keys none · from k1")
    assert activity.details_text({}) == ""
    dataset = "d081a1fe65340bb27e19428f357afe84dc42644909ce7bc0d3619af4a1b2c3d4"
    assert activity.subject_text(dataset) == "d081a1fe6534"
    for whole in ("20261205-071308-33ccb0", "alice", dataset[:63], dataset.upper(), dataset + "0"):
        assert activity.subject_text(whole) == whole
