"""CLI twins of the Fairness page: import, fairness and mitigate keep the issue's JSON contracts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.cli import main


@pytest.fixture
def scored_csv(tmp_path):
    rng = np.random.default_rng(0)
    grp = rng.choice(["p", "q"], 600)
    label = (rng.random(600) < np.where(grp == "p", 0.5, 0.3)).astype(int)
    frame = pd.DataFrame({"label": label, "score": np.round(np.clip(0.35 * label + 0.65 * rng.random(600), 0, 1), 4),
                          "grp": grp})
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)
    return path


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_import_fairness_and_mitigate_json(scored_csv, capsys):
    assert main(["import", str(scored_csv), "--label", "label", "--positive", "1", "--score", "score",
                 "--sensitive", "grp", "--json"]) == 0
    imported = _json(capsys)
    assert set(imported) == {"run_id", "rows"} and imported["rows"] == 600

    assert main(["fairness", imported["run_id"], "--sensitive", "grp", "--resamples", "200", "--json"]) == 0
    report = _json(capsys)
    assert report["run_id"] == imported["run_id"]
    assert [g["group"] for g in report["groups"]] == ["p", "q"]
    assert sum(g["count"] for g in report["groups"]) == 600
    for group in report["groups"]:
        assert {"group", "count", "selection_rate", "tpr", "fpr", "accuracy", "small"} <= set(group)
    for name in ("demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference",
                 "demographic_parity_ratio"):
        value, (low, high) = report["disparities"][name]["value"], report["disparities"][name]["ci"]
        assert isinstance(value, float) and low <= value <= high

    assert main(["fairness", imported["run_id"], "--resamples", "200", "--json"]) == 0  # the run's own columns
    assert _json(capsys) == report

    assert main(["mitigate", imported["run_id"], "--method", "thresholds", "--constraint", "demographic_parity",
                 "--sensitive", "grp", "--json"]) == 0
    mitigated = _json(capsys)
    assert mitigated["run_id"] != imported["run_id"] and mitigated["parent_id"] == imported["run_id"]
    assert mitigated["disparity"]["after"]["value"] < mitigated["disparity"]["before"]["value"]
    assert isinstance(mitigated["metrics"]["accuracy"], float)


def test_bad_imports_exit_2_with_one_error_line(scored_csv, capsys):
    assert main(["import", str(scored_csv), "--label", "label", "--score", "grp", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The score column 'grp' holds text") and "Traceback" not in err
    assert main(["fairness", "20260101-000000-abcdef", "--sensitive", "grp"]) == 2


def test_fairness_of_a_run_without_sensitive_columns_asks_for_them(scored_csv, capsys):
    assert main(["import", str(scored_csv), "--label", "label", "--positive", "1", "--score", "score", "--json"]) == 0
    run_id = _json(capsys)["run_id"]
    assert main(["fairness", run_id]) == 2
    assert capsys.readouterr().err == (f"error: Run {run_id} names no sensitive column to slice by; pass --sensitive "
                                       "with one or more columns of its dataset.\n")
    assert main(["fairness", run_id, "--sensitive", "grp", "--resamples", "100", "--json"]) == 0
    assert [g["group"] for g in _json(capsys)["groups"]] == ["p", "q"]
