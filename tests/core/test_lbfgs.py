"""The exact logistic solver: the same optimum as scikit-learn's LogisticRegression for the same C."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from core.errors import ConfigError
from core.training.config import TrainConfig
from core.training.loop import fit, predict_proba

CPU = torch.device("cpu")
EXACT = 1e-10  # our tol for the coefficient comparisons (float64); scikit-learn runs at 1e-12


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)


def _table(loader, rows: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = loader(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(len(X), size=min(rows, len(X)), replace=False))
    return StandardScaler().fit_transform(X[keep, :columns]), y[keep]


def _reference(X: np.ndarray, y: np.ndarray, C: float, **kwargs) -> SkLogisticRegression:
    return SkLogisticRegression(C=C, tol=1e-12, max_iter=100_000, **kwargs).fit(X, y)


def _weights(result) -> tuple[np.ndarray, np.ndarray]:
    linear = result.model.linear
    return linear.weight.detach().double().numpy(), linear.bias.detach().double().numpy()


@pytest.mark.parametrize("C", [0.05, 1.0, 20.0])
def test_binary_coefficients_equal_sklearn(C: float) -> None:
    X, y = _table(load_breast_cancer, 200, 8)
    result = fit(X, y, X[:20], y[:20], n_classes=2, config=TrainConfig(model="logistic", C=C, tol=EXACT), device=CPU)
    reference = _reference(X, y, C)
    weight, bias = _weights(result)
    np.testing.assert_allclose(weight, reference.coef_, atol=1e-4)
    np.testing.assert_allclose(bias, reference.intercept_, atol=1e-4)
    assert result.extra["solver"] == "lbfgs" and result.extra["converged"]
    assert result.extra["penalty"] == pytest.approx(1 / (C * 200))


def test_multinomial_coefficients_equal_sklearn() -> None:
    X, y = _table(load_wine, 178, 13)
    result = fit(X, y, X[:20], y[:20], n_classes=3, config=TrainConfig(model="logistic", C=0.5, tol=EXACT), device=CPU)
    reference = _reference(X, y, 0.5)
    weight, bias = _weights(result)
    np.testing.assert_allclose(weight, reference.coef_, atol=1e-4)
    np.testing.assert_allclose(bias, reference.intercept_, atol=1e-4)
    np.testing.assert_allclose(predict_proba(result.model, X, n_classes=3), reference.predict_proba(X), atol=1e-5)


def test_balanced_class_weights_and_sample_weights_equal_sklearn() -> None:
    X, y = _table(load_breast_cancer, 150, 6)
    rows = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    rows = rows / rows.mean()  # the training loop rescales sample weights to mean 1
    cases = ((TrainConfig(model="logistic", C=2.0, tol=EXACT, class_weights="balanced"), None,
              {"class_weight": "balanced"}),
             (TrainConfig(model="logistic", C=2.0, tol=EXACT), rows, {}))
    for config, sample_weight, options in cases:
        result = fit(X, y, X[:20], y[:20], n_classes=2, config=config, device=CPU, sample_weight=sample_weight)
        reference = SkLogisticRegression(C=2.0, tol=1e-12, max_iter=100_000, **options).fit(
            X, y, sample_weight=sample_weight)
        weight, bias = _weights(result)
        np.testing.assert_allclose(weight, reference.coef_, atol=1e-4)
        np.testing.assert_allclose(bias, reference.intercept_, atol=1e-4)


def test_test_auc_within_0005_of_sklearn_on_the_same_split() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    result = fit(X_train, y_train, X_test, y_test, n_classes=2, config=TrainConfig(model="logistic"), device=CPU)
    ours = roc_auc_score(y_test, predict_proba(result.model, X_test, n_classes=2)[:, 1])
    theirs = roc_auc_score(y_test, SkLogisticRegression().fit(X_train, y_train).predict_proba(X_test)[:, 1])
    assert abs(ours - theirs) <= 0.005


def test_rounds_are_logged_and_the_history_ends_converged() -> None:
    X, y = _table(load_breast_cancer, 200, 8)
    seen = []
    result = fit(X, y, X[:30], y[:30], n_classes=2, config=TrainConfig(model="logistic"), device=CPU,
                 on_epoch=seen.append)
    assert [r.epoch for r in seen] == list(range(1, len(seen) + 1)) == [r.epoch for r in result.history]
    assert result.best_epoch == len(result.history) and not result.stopped_early
    assert seen[-1].train_loss <= seen[0].train_loss


def test_solver_dispatch() -> None:
    assert TrainConfig(model="logistic").uses_lbfgs
    assert not TrainConfig(model="logistic", solver="minibatch").uses_lbfgs
    assert not TrainConfig(model="logistic", target_epsilon=1.0).uses_lbfgs  # private runs keep DP-SGD
    assert not TrainConfig(model="mlp").uses_lbfgs
    X, y = _table(load_breast_cancer, 120, 4)
    minibatch = fit(X, y, X[:20], y[:20], n_classes=2, device=CPU,
                    config=TrainConfig(model="logistic", solver="minibatch", optimizer="sgd", epochs=2,
                                       learning_rate=0.1, batch_size=32))
    assert "solver" not in minibatch.extra and len(minibatch.history) == 2
    with pytest.raises(ConfigError, match="solver 'lbfgs' solves non-private logistic regression only"):
        TrainConfig(model="mlp", solver="lbfgs").validate()
    with pytest.raises(ConfigError, match="C must be above 0"):
        TrainConfig(C=0.0).validate()


@pytest.mark.parametrize("n_classes", [2, 4])
def test_objective_forms_agree_and_match_autograd(n_classes: int) -> None:
    """The CPU form (dense and CSR) and the accelerator form (torch, run here on the CPU) give the same value and
    gradient as autograd on the written-out objective, with row weights; the float32 passes of the default
    tolerance agree to float32 precision."""
    from core.training._lbfgs_objective import NumpyObjective, TorchObjective

    rng = np.random.default_rng(3)
    n, d = 60, 7
    X = rng.standard_normal((n, d))
    X[:, 3:] = (rng.random((n, 4)) < 0.15)  # a one-hot-like block, so the sparse share is low
    y = rng.integers(0, n_classes, n)
    y[:n_classes] = np.arange(n_classes)
    row_weight = rng.uniform(0.5, 2.0, n)
    k = 1 if n_classes == 2 else n_classes
    theta = rng.standard_normal(k * (d + 1)) * 0.3
    lam = 0.05
    t = torch.tensor(theta, requires_grad=True)
    z = torch.from_numpy(X) @ t[: k * d].reshape(k, d).T + t[k * d:]
    if n_classes == 2:
        rows = torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], torch.from_numpy(y).double(),
                                                                    reduction="none")
    else:
        rows = torch.nn.functional.cross_entropy(z, torch.from_numpy(y), reduction="none")
    expected = (rows * torch.from_numpy(row_weight)).mean() + lam / 2 * (t[: k * d] ** 2).sum()
    expected.backward()
    dense = NumpyObjective(X, y, row_weight, lam, n_classes, tol=EXACT)
    X_cut = np.where(np.abs(X) > 0.9, X, 0.0)  # mostly zeros: held as CSR
    sparse = NumpyObjective(X_cut, y, row_weight, lam, n_classes, tol=EXACT)
    assert not dense.sparse and sparse.sparse
    on_torch = TorchObjective(torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(row_weight), lam, n_classes)
    for form in (dense, on_torch):
        value, grad = form(theta)
        assert value == pytest.approx(expected.item(), rel=1e-12)
        np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)
    value_sparse, grad_sparse = sparse(theta)
    reference = TorchObjective(torch.from_numpy(X_cut), torch.from_numpy(y), torch.from_numpy(row_weight), lam,
                               n_classes)(theta)
    assert value_sparse == pytest.approx(reference[0], rel=1e-12)
    np.testing.assert_allclose(grad_sparse, reference[1], rtol=1e-10, atol=1e-12)
    for table, (value, grad) in ((X, (expected.item(), t.grad.numpy())), (X_cut, reference)):
        fast = NumpyObjective(table, y, row_weight, lam, n_classes, tol=1e-4)  # the default: float32 passes
        assert fast.dtype == (np.float64 if fast.sparse else np.float32)  # CSR keeps float64
        value32, grad32 = fast(theta)
        assert value32 == pytest.approx(value, rel=1e-6) and grad32.dtype == np.float64
        np.testing.assert_allclose(grad32, grad, atol=1e-6)
