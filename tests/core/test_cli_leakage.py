"""The CLI applies the Data page's leakage-safe defaults: leaky columns excluded with reasons, leaked runs cautioned."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from tests.leaky_data import LEAKY_COLUMNS, leaky_loans

HONEST = ["income_k", "debt_ratio", "tenure_years", "noise", "segment", "group"]


@pytest.fixture
def leaky_csv(tmp_path):
    path = tmp_path / "leaky.csv"
    leaky_loans().to_csv(path, index=False)
    return path


def train(capsys, path, *extra) -> tuple[int, dict, str]:
    code = main(["train", str(path), "--target", "approved", "--model", "logistic", "--epochs", "5", "--json",
                 *extra])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_train_without_features_leaves_the_leaky_columns_out(capsys, leaky_csv):
    code, payload, err = train(capsys, leaky_csv)
    assert code == 0
    excluded = {item["column"]: item["reason"] for item in payload["excluded"]}
    assert set(excluded) == set(LEAKY_COLUMNS)
    assert excluded["decision_code"].startswith("possible target leakage: column 'decision_code' is the target")
    assert "alone ranks the classes of 'approved' almost perfectly (ROC AUC 0.995" in excluded["approved_flag"]
    assert payload["features"] == HONEST
    assert 0.6 < payload["metrics"]["roc_auc"] < 0.95  # well below the leaked 1.0
    assert payload["caution"] is None and isinstance(payload["warnings"], list)
    for column in LEAKY_COLUMNS:  # each exclusion is printed to stderr too
        assert any(line.startswith("warning: left out of the features: possible target leakage: column "
                                   f"'{column}'") for line in err.splitlines())

    assert main(["runs", payload["run_id"]]) == 0
    assert "caution" not in capsys.readouterr().out


def test_features_override_puts_a_column_back_and_the_run_carries_the_caution(capsys, leaky_csv):
    code, payload, err = train(capsys, leaky_csv, "--features", *HONEST, "approved_flag")
    assert code == 0
    assert "approved_flag" in payload["features"]
    assert [item["column"] for item in payload["excluded"]] == ["decision_code"]
    caution = payload["caution"]
    assert caution["headline"] == "too good to be true: check for leakage"
    assert [s["column"] for s in caution["suspects"]] == ["approved_flag"]
    assert "warning: Too good to be true: check for leakage." in err

    assert main(["runs", payload["run_id"]]) == 0
    out = capsys.readouterr().out
    assert "caution: Too good to be true: check for leakage." in out and "'approved_flag'" in out
    assert main(["runs", payload["run_id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["caution"]["suspects"][0]["column"] == "approved_flag"
