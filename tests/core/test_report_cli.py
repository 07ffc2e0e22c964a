"""`report`, `verify`, `check` and `compare` on the command line: files written, exit codes, JUnit XML, tampering."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest

from core.cli import main
from core.report import Check, RunPoint, compare_points, dominates, pareto_front
from core.training.artifacts import MODEL_WEIGHTS
from tests.core._report_runs import import_run, train_run


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-home")
    runs, run_id = train_run(home)
    _, imported = import_run(home)
    return home, runs, run_id, imported


@pytest.fixture(autouse=True)
def _home(workspace, monkeypatch):
    monkeypatch.setenv("RISKBOARD_HOME", str(workspace[0]))


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_then_verify_match_and_tampering(workspace, tmp_path, capsys):
    run_id = workspace[2]
    for fmt in ("html", "md", "json"):
        out = tmp_path / f"card.{fmt}"
        code, printed, err = cli(capsys, "report", run_id, "--out", out, "--json")
        assert code == 0, err
        body = json.loads(printed)
        assert body["format"] == fmt and out.stat().st_size == body["bytes"]
        code, printed, _ = cli(capsys, "verify", out)
        assert code == 0 and printed.count("\nok") + printed.startswith("ok") == 4, printed
        # one changed character anywhere is a mismatch of the content hash
        text = out.read_text(encoding="utf-8")
        tampered = tmp_path / f"tampered.{fmt}"
        assert "loans" in text
        tampered.write_text(text.replace("loans", "lOans", 1), encoding="utf-8")
        code, printed, _ = cli(capsys, "verify", tampered, "--json")
        checks = {c["name"]: c["ok"] for c in json.loads(printed)["checks"]}
        assert code == 1 and checks == {"content hash": False, "run": True, "dataset": True, "weights": True}
    html = (tmp_path / "card.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")


def test_verify_detects_changed_weights_and_missing_runs(workspace, tmp_path, capsys):
    _, runs, run_id, _ = workspace
    out = tmp_path / "card.md"
    assert cli(capsys, "report", run_id, "--out", out)[0] == 0
    weights = runs.artifacts(run_id).folder / MODEL_WEIGHTS
    original = weights.read_bytes()
    try:
        weights.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        code, printed, _ = cli(capsys, "verify", out)
        assert code == 1 and "MISMATCH weights" in printed
    finally:
        weights.write_bytes(original)
    other = tmp_path / "other-home"
    other.mkdir()
    import os

    os.environ["RISKBOARD_HOME"] = str(other)  # restored by the autouse fixture's monkeypatch
    code, printed, _ = cli(capsys, "verify", out)
    assert code == 1 and f"run {run_id} is not in this workspace" in printed


def test_verify_bad_input_exits_2(tmp_path, capsys):
    plain = tmp_path / "notes.html"
    plain.write_text("<!DOCTYPE html><p>hello</p>", encoding="utf-8")
    code, _, err = cli(capsys, "verify", plain)
    assert code == 2 and err.startswith("error: notes.html is not a Riskboard report")
    code, _, err = cli(capsys, "verify", tmp_path / "missing.html")
    assert code == 2 and "is not a file" in err


def test_check_exit_codes_and_lines(workspace, capsys):
    _, runs, run_id, _ = workspace
    auc = runs.get(run_id).metrics["roc_auc"]
    code, out, _ = cli(capsys, "check", run_id, "--min-auc", 0.01)
    assert code == 0
    line = out.splitlines()[0]
    assert line.startswith("PASS") and "min_auc" in line and f"{auc:.4g}" in line and ">= 0.01" in line
    assert "interval [" in line
    code, out, _ = cli(capsys, "check", run_id, "--min-auc", 0.999, "--max-epsilon", 8)
    assert code == 1
    assert [ln.split()[0] for ln in out.splitlines()[:2]] == ["FAIL", "FAIL"]
    assert "epsilon is infinity" in out
    assert cli(capsys, "check", "20990101-000000-abcdef", "--min-auc", 0.5)[0] == 2
    assert cli(capsys, "check", "no-such-run", "--min-auc", 0.5)[0] == 2
    code, _, err = cli(capsys, "check", run_id, "--max-dpd", 0.1, "--sensitive", "nope")
    assert code == 2 and "'nope' is not a sensitive column" in err
    code, _, err = cli(capsys, "check", run_id)
    assert code == 2 and "no threshold given" in err
    # a disparity whose fairness was never computed cannot pass: listed as NOT RUN with the command, exit 2
    code, out, _ = cli(capsys, "check", run_id, "--max-dpd", 0.1, "--sensitive", "group")
    assert code == 2 and out.startswith("NOT RUN") and f"python -m core fairness {run_id} --sensitive group" in out
    assert cli(capsys, "check", run_id, "--max-dpd", 0.1) == (code, out, "")  # the run's first sensitive column


def test_check_junit_for_pass_and_fail(workspace, tmp_path, capsys):
    _, _, run_id, _ = workspace
    passing, failing = tmp_path / "pass.xml", tmp_path / "fail.xml"
    assert cli(capsys, "check", run_id, "--min-auc", 0.01, "--junit", passing)[0] == 0
    suite = ET.parse(passing).getroot()
    assert (suite.tag, suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("testsuite", "1", "0", "0")
    assert suite.find("testcase").get("name") == "min_auc" and suite.find("testcase/failure") is None
    assert cli(capsys, "check", run_id, "--min-auc", 0.999, "--max-epsilon", 1, "--max-attack-auc", 0.6,
               "--junit", failing)[0] == 1
    suite = ET.parse(failing).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "2", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert "below the team's minimum of 0.999" in cases["min_auc"].find("failure").get("message")
    assert cases["max_attack_auc"].find("error").get("type") == "not run"


def test_compare_cli(workspace, capsys):
    _, _, run_id, imported = workspace
    code, out, _ = cli(capsys, "compare", run_id, imported, run_id, "--json")
    body = json.loads(out)
    assert code == 0 and [r["run_id"] for r in body["runs"]] == [run_id, imported]
    assert all(r["epsilon"] is None and r["private"] is False for r in body["runs"])
    assert body["objectives"] == ["auc", "epsilon"] and any("disparity is left out" in n for n in body["notes"])
    assert any("different datasets" in n for n in body["notes"])
    better = max(body["runs"], key=lambda r: r["roc_auc"])["run_id"]
    assert body["pareto"] == [better]
    code, out, _ = cli(capsys, "compare", run_id, imported)
    assert code == 0 and "Pareto set" in out and "comes closest" in out  # judged by the default thresholds


def point(run_id, auc, disparity, epsilon=math.inf, checks=(), parent=None) -> RunPoint:
    return RunPoint(run_id=run_id, name=run_id, kind="train", dataset_id="d", parent_id=parent, metrics={},
                    auc=auc, auc_interval=None, disparity=disparity, disparity_interval=None,
                    disparity_label="dpd", epsilon=epsilon, attack_auc=None, checks=tuple(checks))


def check(passed: bool, name: str = "min_auc") -> Check:
    return Check(name, name, 0.0, None, 0.0, ">=", "pass" if passed else "fail", passed, "")


def test_pareto_set_on_hand_made_metrics():
    assert dominates((0.9, 0.1), (0.8, 0.2), (1, -1)) and not dominates((0.9, 0.3), (0.8, 0.2), (1, -1))
    assert not dominates((0.9, 0.1), (0.9, 0.1), (1, -1))  # equal points do not dominate each other
    points = [point("A", 0.90, 0.10), point("B", 0.88, 0.05), point("C", 0.85, 0.12),  # C: worse than A on both
              point("D", 0.86, 0.05, epsilon=2.0), point("E", 0.88, 0.05), point("F", 0.80, 0.20, epsilon=8.0)]
    comparison = compare_points(points)
    assert comparison.objectives == ("auc", "disparity", "epsilon")
    assert comparison.pareto == ("A", "B", "D", "E")  # F is dominated by D (better AUC, gap and epsilon)
    values = {"x": (1.0, 1.0), "y": (2.0, 0.0), "z": (0.5, 0.5)}
    assert pareto_front(values, (1, 1)) == ["x", "y"]


def test_missing_disparity_leaves_the_objective_out():
    comparison = compare_points([point("A", 0.9, None), point("B", 0.8, 0.01)])
    assert comparison.objectives == ("auc", "epsilon") and comparison.pareto == ("A",)
    assert "runs A have no value" in comparison.notes[0]


def test_best_run_meets_the_thresholds():
    points = [point("A", 0.92, 0.2, checks=[check(True), check(False, "max_disparity")]),
              point("B", 0.88, 0.05, checks=[check(True), check(True, "max_disparity")]),
              point("C", 0.86, 0.04, checks=[check(True), check(True, "max_disparity")])]
    comparison = compare_points(points)
    assert comparison.best == "B"
    assert comparison.summary.startswith("“B” best meets the team's thresholds: it passes all 2 checks")
    assert "1 other run passes too" in comparison.summary
    none_pass = compare_points([point("A", 0.92, 0.2, checks=[check(True), check(False, "max_disparity")]),
                                point("B", 0.95, 0.3, checks=[check(False), check(False, "max_disparity")])])
    assert none_pass.best == "A" and none_pass.summary.startswith("No run meets every threshold. “A” comes")


def test_check_disparity_on_a_real_cached_fairness_result(workspace, tmp_path, capsys):
    """An imported run, audited for fairness by issue 9's code: the gate reads that cached result."""
    from core.fairness import run_fairness

    _, runs, _, imported = workspace
    [report] = run_fairness(runs, imported, ["grp"], resamples=200).values()
    dpd = report.disparities["demographic_parity_difference"]
    code, out, _ = cli(capsys, "check", imported, "--max-dpd", 1.0, "--sensitive", "grp")
    assert code == 0 and "the whole interval is within" in out and f"[{dpd.low:.4g}, {dpd.high:.4g}]" in out
    between = (dpd.value + dpd.high) / 2  # above the point estimate, below the interval's top: not a pass
    code, out, _ = cli(capsys, "check", imported, "--max-dpd", round(between, 6), "--sensitive", "grp",
                       "--junit", tmp_path / "dpd.xml")
    assert code == 1 and out.startswith("FAIL") and "the whole interval must be within it" in out
    assert ET.parse(tmp_path / "dpd.xml").getroot().get("failures") == "1"


def test_report_of_a_run_imported_through_the_cli_verifies(workspace, tmp_path, capsys):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    label = (rng.random(300) < 0.4).astype(int)
    table = pd.DataFrame({"label": label, "score": np.clip(0.3 * label + 0.7 * rng.random(300), 0, 1).round(4),
                          "grp": rng.choice(["p", "q"], 300)})
    source = tmp_path / "outside.csv"
    table.to_csv(source, index=False)
    code, out, err = cli(capsys, "import", source, "--label", "label", "--score", "score", "--positive", "1",
                         "--sensitive", "grp", "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    card = tmp_path / "imported.md"
    assert cli(capsys, "report", run_id, "--out", card)[0] == 0
    text = card.read_text(encoding="utf-8")
    assert "Imported scores from outside.csv" in text and "python -m core import outside.csv --label label" in text
    code, out, _ = cli(capsys, "verify", card)
    assert code == 0 and "ok       scores" in out
