"""The command-line contract: JSON shapes, exit codes, one `error:` line and never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.cli import main
from core.data.demo import synthetic_biased
from tests.conftest import ROOT


def run_cli(*args: str, env_home=None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ)
    if env_home is not None:
        env["RISKBOARD_HOME"] = str(env_home)
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture
def loans_csv(tmp_path):
    path = tmp_path / "loans.csv"
    synthetic_biased(800, seed=5).to_csv(path, index=False)
    return path


def test_inspect_json_shape(loans_csv, capsys):
    assert main(["inspect", str(loans_csv), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["rows"] == 800
    names = [c["name"] for c in payload["columns"]]
    assert names == ["income_k", "debt_ratio", "tenure_years", "noise", "segment", "group", "approved"]
    by_name = {c["name"]: c for c in payload["columns"]}
    assert by_name["segment"] == by_name["segment"] | {"kind": "categorical", "missing": 0.0, "unique": 3}
    assert by_name["approved"]["kind"] == "boolean"
    assert isinstance(payload["warnings"], list)


def test_inspect_human_output_lists_columns(loans_csv, capsys):
    assert main(["inspect", str(loans_csv)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("loans.csv: 800 rows x 7 columns (csv)")
    assert "segment" in out and "categorical" in out


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"a,b\n", "no data rows"),
    (b"\x00\x01\x02binary\xff", ""),
])
def test_bad_files_exit_2_with_one_error_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    done = run_cli("inspect", str(path), "--json")
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert message in lines[0].lower()
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_missing_file_and_unknown_subcommand(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    with pytest.raises(SystemExit) as stop:
        main(["frobnicate"])
    assert stop.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_file_over_the_upload_limit(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RISKBOARD_MAX_UPLOAD_MB", "0.001")
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 2000)
    assert main(["inspect", str(path)]) == 2
    assert "RISKBOARD_MAX_UPLOAD_MB" in capsys.readouterr().err


def test_train_runs_and_lists(loans_csv, riskboard_home, monkeypatch):
    monkeypatch.setenv("RISKBOARD_DEVICE", "cpu")  # the device this test means, on a GPU machine too
    done = run_cli("train", str(loans_csv), "--target", "approved", "--positive", "yes", "--sensitive", "group",
                   "--model", "logistic", "--epochs", "4", "--seed", "3", "--json", env_home=riskboard_home)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["status"] == "succeeded" and payload["device"] == "cpu"
    assert set(payload["metrics"]) >= {"accuracy", "roc_auc", "log_loss", "brier", "f1"}
    assert 0.5 < payload["metrics"]["roc_auc"] <= 1.0
    listed = run_cli("runs", "--json", env_home=riskboard_home)
    assert listed.returncode == 0
    runs = json.loads(listed.stdout)["runs"]
    assert [r["id"] for r in runs] == [payload["run_id"]]
    shown = run_cli("runs", payload["run_id"], "--json", env_home=riskboard_home)
    detail = json.loads(shown.stdout)
    assert len(detail["epochs"]) == payload["metrics"]["epochs_run"]
    assert detail["config"]["model"] == "logistic" and detail["spec"]["sensitive"][0]["column"] == "group"


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "nope"], "not in this table"),
    (["--target", "approved", "--positive", "maybe"], "does not occur"),
    (["--target", "approved", "--epochs", "0"], "epochs must be"),
    (["--target", "approved", "--sensitive", "ghost"], "ghost"),
])
def test_train_bad_choices_exit_2(loans_csv, capsys, args, message):
    assert main(["train", str(loans_csv), *args, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and message in captured.err


def test_runs_show_unknown_id_exits_2(capsys):
    assert main(["runs", "../../etc/passwd"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_datasets_add_list_delete(loans_csv, capsys):
    assert main(["datasets", "add", str(loans_csv), "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["rows"] == 800 and len(added["id"]) == 64
    assert main(["datasets", "list", "--json"]) == 0
    assert [d["id"] for d in json.loads(capsys.readouterr().out)["datasets"]] == [added["id"]]
    assert main(["datasets", "delete", "--id", added["id"], "--json"]) == 0
    capsys.readouterr()
    assert main(["datasets", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["datasets"] == []


def test_cancel_a_finished_run_is_refused(loans_csv, capsys):
    assert main(["train", str(loans_csv), "--target", "approved", "--epochs", "1", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["cancel", run_id]) == 2
    assert "already finished (succeeded); there is nothing to cancel" in capsys.readouterr().err
    assert main(["runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["run_id"] == run_id


def test_usage_errors_point_at_the_right_help(capsys):
    with pytest.raises(SystemExit):
        main(["train"])
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "(see `python -m core train --help`)" in err


def test_unknown_run_message_does_not_leak_server_paths(riskboard_home, capsys):
    assert main(["runs", "20991231-000000-abcdef"]) == 2
    err = capsys.readouterr().err
    assert "no run 20991231-000000-abcdef" in err and str(riskboard_home) not in err


def test_train_explains_when_no_column_is_usable_and_features_override(tmp_path, capsys):
    path = tmp_path / "ids.csv"
    path.write_text("only_id,y\n" + "".join(f"id{i},{'pq'[i % 2]}\n" for i in range(60)))
    assert main(["train", str(path), "--target", "y", "--json"]) == 2
    err = capsys.readouterr().err
    assert "No usable feature columns: 'only_id' looks like an identifier" in err and "--features" in err
    assert main(["train", str(path), "--target", "y", "--features", "only_id", "--epochs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "succeeded"
