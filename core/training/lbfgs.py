"""Logistic regression solved exactly: full-batch L-BFGS-B (SciPy's, the solver scikit-learn uses) over a
closed-form objective that computes loss and gradient in one pass.

Why not the minibatch loop: logistic regression is a convex problem with one optimum, and a few dozen full-batch
quasi-Newton iterations reach it on any table, while a fixed number of noisy minibatch epochs stops wherever the
epoch count ends (measured on a 1,989-row loan table: test AUC 0.861 after 30 epochs against 0.924 for
scikit-learn). Private runs keep DP-SGD: a full-batch optimum has no privacy accounting.

The objective is scikit-learn's ``LogisticRegression(C=C)`` (lbfgs, L2, unpenalised intercept) divided by
``C * n_train`` so its scale does not grow with the table (which is also how scikit-learn scales it internally, so
its ``tol`` and ours, a bound on the largest projected-gradient entry, mean the same)::

    mean_i( w_i * loss_i ) + ||W||^2 / (2 * C * n_train)

``w_i`` are the row weights (class weights 'balanced' times any sample weights, rescaled to mean 1 by the caller);
binary targets have one logit (the score of class 1), three or more classes K logits with the multinomial
cross-entropy, both exactly as scikit-learn fits them. So ``C`` means what it means in scikit-learn, and the same
C on the same preprocessed rows gives the same coefficients (tested to 1e-4 at tol 1e-10 against scikit-learn at
1e-12); at the default tol 1e-4 the fit stops where scikit-learn's default stops (same driver, same ``gtol``,
``ftol`` and line-search limit).

Why SciPy's driver and not ``torch.optim.LBFGS``: the torch optimiser spends about a millisecond of Python per
iteration, which is most of the fit on small tables (measured 21 ms against 4 ms for 17 iterations on
breast_cancer), and its stopping rule is not scikit-learn's. On the CPU the objective is NumPy float64, with
one-hot-heavy tables held as CSR (Adult is 12% non-zero: an evaluation reads ~5x fewer bytes); on an accelerator
it runs in torch on the device (:mod:`core.training._lbfgs_objective`).

The fit is reported in rounds of :data:`ROUND_ITERATIONS` iterations; each round is one record of the live curve
(train and validation loss) and a chance to cancel; the last round ends where L-BFGS-B converged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.optimize import minimize
from torch import nn

from core.errors import TrainingError
from core.models.modules import build_model, n_outputs_for
from core.training._lbfgs_objective import NumpyObjective, TorchObjective, torch_dtype
from core.training._objective import Objective, all_finite, validate
from core.training._steps import CancelPoll
from core.training.config import TrainConfig

ROUND_ITERATIONS = 25
MAX_ITERATIONS = 1_000
HISTORY_SIZE = 10  # L-BFGS-B's ``maxcor``, scikit-learn's default
MAX_LINE_SEARCH = 50  # scikit-learn's ``maxls``
FTOL = 64 * np.finfo(float).eps  # scikit-learn's relative-reduction stop: a step that changes the loss less ends
NOT_CONVERGED_NOTE = ("L-BFGS stopped after {iterations} iterations before its tolerance was met; the result is "
                      "close to the optimum but raise C's regularisation (a smaller C) if the table is separable.")
NON_FINITE = ("the L-BFGS objective became {what} at iteration {iteration}; check the data for extreme values or "
              "use a smaller C (stronger regularisation).")
NON_FINITE_INPUT = ("the features contain NaN or infinite values; encode the table with the preprocessor "
                    "(it imputes missing values) before training.")


def penalty_strength(C: float, n_train: int) -> float:
    """The L2 coefficient ``lambda`` in ``mean loss + lambda / 2 * ||W||^2`` that equals scikit-learn's ``C``."""
    return 1.0 / (C * n_train)


def _row_weights(y: np.ndarray, n_classes: int, config: TrainConfig,
                 sample_weight: np.ndarray | None) -> np.ndarray | None:
    """Balanced class weights (scikit-learn's n / (K * count_k)) times any sample weights, per row."""
    weights = None
    if config.class_weights == "balanced":
        counts = np.bincount(y, minlength=n_classes).astype(np.float64)
        per_class = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
        weights = per_class[y]
    if sample_weight is not None:
        rows = np.asarray(sample_weight, dtype=np.float64)
        weights = rows if weights is None else weights * rows
    return weights


def _objective(X: np.ndarray, y: np.ndarray, row_weight: np.ndarray | None, lam: float, n_classes: int,
               device: torch.device, tol: float) -> NumpyObjective | TorchObjective:
    """NumPy on the CPU; torch on the run's accelerator (the table stays there)."""
    if device.type == "cpu":
        return NumpyObjective(X, y, row_weight, lam, n_classes, tol)
    dtype = torch_dtype(device, X.size, tol)
    weight = None if row_weight is None else torch.from_numpy(row_weight).to(device=device, dtype=dtype)
    return TorchObjective(torch.from_numpy(np.ascontiguousarray(X)).to(device=device, dtype=dtype),
                          torch.from_numpy(y).to(device), weight, lam, n_classes)


def _load(model: nn.Module, theta: np.ndarray, k: int, d: int) -> None:
    with torch.no_grad():
        model.linear.weight.copy_(torch.from_numpy(theta[: k * d].reshape(k, d)))
        model.linear.bias.copy_(torch.from_numpy(theta[k * d:]))


def fit_lbfgs(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *, n_classes: int,
              config: TrainConfig, device: torch.device, on_round: Callable[[dict[str, float]], None],
              poll: CancelPoll, positive_index: int, sample_weight: np.ndarray | None = None
              ) -> tuple[nn.Module, dict]:
    """Fit logistic regression to its optimum (see the module docstring); returns the model (eval mode, CPU) and
    the solver's facts (iterations, converged, penalty, C) for ``FitResult.extra``.

    ``on_round`` gets each round's train loss, validation loss, accuracy and AUC (the loop makes them epoch
    records); ``poll`` cancels between rounds.
    """
    if not all(all_finite(torch.from_numpy(np.ascontiguousarray(x))) for x in (X_train, X_val)):
        raise TrainingError(NON_FINITE_INPUT)
    y_train = y_train.astype(np.int64, copy=False)
    lam = penalty_strength(config.C, X_train.shape[0])
    objective = _objective(X_train, y_train, _row_weights(y_train, n_classes, config, sample_weight), lam,
                           n_classes, device, config.tol)
    k, d = n_outputs_for(n_classes), X_train.shape[1]
    model = build_model(config.model_config(), d, k).to(dtype=torch.float64)
    Xv = torch.from_numpy(np.ascontiguousarray(X_val, dtype=np.float64))
    yv = torch.from_numpy(y_val.astype(np.int64, copy=False))
    val_objective = Objective(n_classes, None)
    state = {"iterations": 0, "reported": 0}

    def report(theta: np.ndarray, value: float) -> None:
        poll.now(state["iterations"] // ROUND_ITERATIONS + 1)
        if not math.isfinite(value):
            raise TrainingError(NON_FINITE.format(what="NaN" if math.isnan(value) else "infinite",
                                                  iteration=state["iterations"]))
        _load(model, theta, k, d)
        val_loss, val_accuracy, val_auc = validate(model, val_objective, Xv, yv, n_classes=n_classes,
                                                   positive_index=positive_index, threshold=config.threshold)
        penalty = 0.5 * lam * float(np.dot(theta[: k * d], theta[: k * d]))
        on_round({"train_loss": value - penalty, "val_loss": val_loss, "val_accuracy": val_accuracy,
                  "val_auc": val_auc})
        state["reported"] = state["iterations"]

    def each_iteration(intermediate_result) -> None:
        state["iterations"] += 1
        if state["iterations"] % ROUND_ITERATIONS == 0:
            report(intermediate_result.x, float(intermediate_result.fun))

    poll.now(1)
    # zeros make the fit seed-free (the optimum does not depend on the start)
    result = minimize(objective, np.zeros(k * (d + 1)), jac=True, method="L-BFGS-B", callback=each_iteration,
                      options={"maxiter": MAX_ITERATIONS, "maxcor": HISTORY_SIZE, "maxls": MAX_LINE_SEARCH,
                               "gtol": config.tol, "ftol": FTOL})
    iterations, converged = int(result.nit), int(result.status) == 0
    state["iterations"] = iterations
    if state["reported"] != iterations or iterations == 0:
        report(result.x, float(result.fun))
    _load(model, result.x, k, d)
    model = model.to(device="cpu", dtype=torch.float32).eval()
    extra = {"solver": "lbfgs", "iterations": iterations, "converged": converged, "penalty": lam,
             "C": float(config.C)}
    if not converged:
        extra["note"] = NOT_CONVERGED_NOTE.format(iterations=iterations)
    return model, extra
