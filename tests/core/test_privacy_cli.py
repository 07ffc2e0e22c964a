"""Private runs end to end through the CLI: train flags and JSON, privacy artifact, audit (cached), budget."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.data.demo import synthetic_biased
from core.dp import PRIVACY_JSON, compute_epsilon, load_privacy
from core.privacy import audit_run
from core.runs import RunStore


@pytest.fixture
def loans_csv(tmp_path):
    path = tmp_path / "loans.csv"
    synthetic_biased(900, seed=5).to_csv(path, index=False)
    return path


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_private_train_then_audit(loans_csv, capsys, riskboard_home):
    args = ["train", str(loans_csv), "--target", "approved", "--epochs", "3", "--sensitive", "group", "--json"]
    assert main([*args, "--epsilon", "2", "--max-grad-norm", "0.7"]) == 0
    captured = capsys.readouterr()
    private = json.loads(captured.out)
    assert "private run: using the DP-SGD recipe for optimizer=sgd, learning_rate=0.5" in captured.err
    assert private["accountant"] == "prv" and private["delta"] == 1e-5
    assert 1.9 <= private["epsilon"] <= 2.0
    metrics = private["metrics"]
    assert metrics["max_grad_norm"] == 0.7 and metrics["target_epsilon"] == 2.0
    record = RunStore(riskboard_home).get(private["run_id"])
    # --epochs was given, so it is kept; the rest of the DP-SGD recipe fills what was not given
    assert (record.config["epochs"], record.config["optimizer"], record.config["learning_rate"]) == (3, "sgd", 0.5)
    check = compute_epsilon(noise_multiplier=metrics["noise_multiplier"], sample_rate=metrics["sample_rate"],
                            steps=int(metrics["dp_steps"]), delta=1e-5)
    assert check.epsilon == pytest.approx(private["epsilon"])
    store = RunStore(riskboard_home)
    epochs = store.epochs(private["run_id"])
    assert [round(e["epsilon"], 9) for e in epochs] == sorted(round(e["epsilon"], 9) for e in epochs)
    assert epochs[-1]["epsilon"] == pytest.approx(private["epsilon"])
    assert load_privacy(store.artifacts(private["run_id"]))["accountant"] == "prv"

    assert main(args) == 0
    plain = _json(capsys)
    assert plain["epsilon"] is None and plain["delta"] is None and plain["accountant"] is None
    assert not store.artifacts(plain["run_id"]).has(PRIVACY_JSON)

    assert main(["audit", private["run_id"], "--attack", "loss", "--json"]) == 0
    audit = _json(capsys)
    assert audit["run_id"] == private["run_id"] and audit["attack"] == "loss"
    assert audit["epsilon_upper_bound"] == pytest.approx(private["epsilon"])
    assert audit["epsilon_lower_bound"] <= audit["epsilon_upper_bound"]
    assert set(audit["tpr_at_fpr"]) == {"0.001", "0.01"} and "group" in audit["by_group"]
    groups = audit["by_group"]["group"]
    n_audited = sum(g["n_members"] for g in groups.values())
    assert n_audited == sum(g["n_nonmembers"] for g in groups.values())  # balanced
    arts = store.artifacts(private["run_id"])
    assert arts.has("audit-loss-k0.json")
    cached = audit_run(store, private["run_id"], attack="loss")
    assert cached.seconds == pytest.approx(json.loads((arts.folder / "audit-loss-k0.json").read_text())["seconds"])
    (arts.folder / "audit-loss-k0.json").write_text("{broken")  # a damaged cache is recomputed, not shown
    again = audit_run(store, private["run_id"], attack="loss")
    assert again.main.auc == pytest.approx(audit["attack_auc"])


def test_train_flags_are_exclusive(loans_csv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(loans_csv), "--target", "approved", "--epsilon", "1", "--noise-multiplier", "1"])
    assert exit_info.value.code == 2


def test_budget_cli(capsys):
    assert main(["budget", "--rows", "25000", "--batch-size", "1000", "--epochs", "90", "--noise-multiplier", "1.5",
                 "--delta", "1e-5", "--accountant", "rdp", "--json"]) == 0
    assert _json(capsys) == {"epsilon": pytest.approx(7.32911117143, abs=1e-9), "noise_multiplier": 1.5,
                             "delta": 1e-5, "accountant": "rdp"}
    assert main(["budget", "--rows", "25000", "--batch-size", "1000", "--epochs", "5", "--epsilon", "3",
                 "--accountant", "rdp", "--json"]) == 0
    found = _json(capsys)
    assert 2.97 <= found["epsilon"] <= 3.0 and found["delta"] == 1e-5
    assert main(["budget", "--rows", "0", "--batch-size", "10", "--epochs", "1", "--epsilon", "1"]) == 2
    assert "rows must be a whole number" in capsys.readouterr().err
