"""Membership-inference audit: the ceiling, intervals, attacks on an overfit and a private model, per-group."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import binomtest

from core.errors import ConfigError
from core.privacy import (
    attack_report,
    audit_arrays,
    audit_ceiling,
    choose_audit_rows,
    clopper_pearson,
    epsilon_lower_bound,
)
from core.training.config import TrainConfig
from core.training.loop import fit


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_ceiling_formula_and_reference_value():
    n = 4885
    tpr_low = 0.025 ** (1 / n)
    assert audit_ceiling(n, n) == pytest.approx(math.log(tpr_low / (1 - tpr_low)), rel=1e-9)
    assert audit_ceiling(n, n) == pytest.approx(7.19, abs=0.005)
    assert audit_ceiling(100, 100) < audit_ceiling(1000, 1000) < audit_ceiling(n, n)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (17, 400)])
def test_clopper_pearson_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


@pytest.mark.parametrize("decimals", [None, 1])
def test_attack_auc_roc_and_tpr_match_scikit_learn(decimals):
    """One sort of the scores gives the AUC, the ROC and TPR at low FPR: the same as scikit-learn's, ties included."""
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(3)
    members, nonmembers = rng.normal(0.3, 1, 5000), rng.normal(0, 1, 4000)
    if decimals is not None:
        members, nonmembers = np.round(members, decimals), np.round(nonmembers, decimals)
    labels, scores = np.r_[np.ones(5000), np.zeros(4000)], np.r_[members, nonmembers]
    report = attack_report("loss", members, nonmembers)
    assert report.auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert report.roc_fpr[0] == 0.0 and report.roc_fpr[-1] == report.roc_tpr[-1] == 1.0
    assert len(report.roc_fpr) <= 201
    on_curve = {(round(f, 12), round(t, 12)) for f, t in zip(fpr, tpr, strict=True)}
    assert all((round(f, 12), round(t, 12)) in on_curve for f, t in zip(report.roc_fpr, report.roc_tpr, strict=True))
    for target in (0.001, 0.01):
        assert report.tpr_at_fpr[str(target)] == tpr[fpr <= target].max()


def test_perfect_attack_reaches_exactly_the_ceiling_and_chance_gives_zero():
    members, nonmembers = np.linspace(1, 2, 300), np.linspace(-2, -1, 300)
    bound = epsilon_lower_bound(members, nonmembers)
    assert bound.ci_low == pytest.approx(audit_ceiling(300, 300), rel=1e-9)
    report = attack_report("loss", members, nonmembers)
    assert report.auc == 1.0 and report.tpr_at_fpr == {"0.001": 1.0, "0.01": 1.0}
    assert report.epsilon_lower_bound == pytest.approx(report.epsilon_ceiling)
    assert "no attack can certify" in report.warning  # 300 per side is a small audit
    same = np.zeros(500)
    flat = attack_report("loss", same, same)
    assert flat.auc == 0.5 and flat.epsilon_lower_bound == 0.0
    assert math.isfinite(flat.epsilon_lower_bound_ci[1])


def test_tpr_at_fpr_hand_example():
    members = np.array([10.0, 9, 8, 3, 2])
    nonmembers = np.array([8.5, 1, 0, -1, -2, -3, -4, -5, -6, -7])
    report = attack_report("loss", members, nonmembers)
    # FPR 0 allows only scores above 8.5: 2 of 5 members
    assert report.tpr_at_fpr["0.001"] == 0.4 and report.tpr_at_fpr["0.01"] == 0.4
    assert report.auc == pytest.approx((10 + 10 + 9 + 9 + 9) / 50)


def test_audit_rows_are_balanced_disjoint_and_leave_a_population():
    rows = choose_audit_rows(np.arange(0, 700), np.arange(700, 1000))
    assert len(rows.members) == len(rows.nonmembers) == 300
    assert set(rows.members) <= set(range(700)) and set(rows.nonmembers) <= set(range(700, 1000))
    assert len(rows.population) == 400 and not set(rows.population) & (set(rows.members) | set(rows.nonmembers))


def _noisy(n, rng):
    X = rng.normal(size=(n, 8)).astype(np.float32)
    y = ((X[:, 0] + 0.5 * X[:, 1]) > 0).astype(np.int64)
    flip = rng.random(n) < 0.2
    y[flip] = 1 - y[flip]
    return X, y


@pytest.fixture(scope="module")
def overfit_audit():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    (Xm, ym), (Xn, yn), (Xp, yp) = _noisy(120, rng), _noisy(120, rng), _noisy(600, rng)
    config = TrainConfig(model="mlp", hidden=(64,), epochs=60, learning_rate=0.02, weight_decay=0.0,
                         early_stopping_patience=0, batch_size=16)
    model = fit(Xm, ym, Xn[:30], yn[:30], n_classes=2, config=config, device=torch.device("cpu")).model
    groups_m, groups_n = np.where(Xm[:, 2] > 0.5, "a", "b"), np.where(Xn[:, 2] > 0.5, "a", "b")
    return audit_arrays(run_id="r", model=model, X_members=Xm, y_members=ym, X_nonmembers=Xn, y_nonmembers=yn,
                        n_classes=2, attack="reference", reference_models=4, X_population=Xp, y_population=yp,
                        config=config, train_size=120, member_groups={"g": groups_m},
                        nonmember_groups={"g": groups_n})


def test_overfit_model_leaks(overfit_audit):
    loss = overfit_audit.reports["loss"]
    assert loss.auc > 0.6 and loss.epsilon_lower_bound > 0
    assert loss.n_members == loss.n_nonmembers == 120
    assert overfit_audit.epsilon_upper_bound is None and overfit_audit.accountant is None


def test_reference_attack_beats_loss_at_low_fpr(overfit_audit):
    ref, loss = overfit_audit.reports["reference"], overfit_audit.reports["loss"]
    assert ref.tpr_at_fpr["0.01"] > loss.tpr_at_fpr["0.01"]
    assert ref.epsilon_lower_bound <= ref.epsilon_ceiling


def test_per_group_audit_counts_and_flags(overfit_audit):
    table = overfit_audit.by_group["g"]
    assert set(table) == {"a", "b"}
    assert sum(v["n_members"] for v in table.values()) == 120
    assert sum(v["n_nonmembers"] for v in table.values()) == 120
    assert all(0 <= v["attack_auc"] <= 1 for v in table.values())
    summary = overfit_audit.summary()
    assert set(summary) == {"run_id", "attack", "attack_auc", "tpr_at_fpr", "epsilon_lower_bound",
                            "epsilon_lower_bound_ci", "epsilon_ceiling", "epsilon_upper_bound", "by_group"}


def test_strongly_private_model_is_near_chance_and_below_its_upper_bound():
    rng = np.random.default_rng(1)
    (Xm, ym), (Xn, yn) = _noisy(400, rng), _noisy(400, rng)
    config = TrainConfig(model="mlp", hidden=(64,), epochs=30, learning_rate=0.02, weight_decay=0.0,
                         early_stopping_patience=0, batch_size=16, target_epsilon=0.2, accountant="rdp")
    result = fit(Xm, ym, Xn[:50], yn[:50], n_classes=2, config=config, device=torch.device("cpu"))
    audit = audit_arrays(run_id="p", model=result.model, X_members=Xm, y_members=ym, X_nonmembers=Xn,
                         y_nonmembers=yn, n_classes=2, attack="loss", privacy=result.extra)
    report = audit.main
    assert abs(report.auc - 0.5) < 0.06
    assert audit.epsilon_upper_bound == pytest.approx(result.extra["epsilon"])
    assert audit.epsilon_upper_bound <= 0.2
    assert report.epsilon_lower_bound <= audit.epsilon_upper_bound
    assert audit.accountant == "rdp"


def test_bad_attack_settings():
    with pytest.raises(ConfigError, match="attack must be one of loss, reference"):
        audit_arrays(run_id="x", model=None, X_members=None, y_members=None, X_nonmembers=None, y_nonmembers=None,
                     n_classes=2, attack="shadow")
    with pytest.raises(ConfigError, match="reference models must be a whole number from 1 to 64"):
        audit_arrays(run_id="x", model=None, X_members=None, y_members=None, X_nonmembers=None, y_nonmembers=None,
                     n_classes=2, reference_models=0)
