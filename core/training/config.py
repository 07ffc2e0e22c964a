"""Training options (one frozen dataclass) with plain-language help for every knob, as the Train page shows it.

Defaults were chosen by measurement (``bench/bench_training.py`` on a 2-core CPU; grid of batch size x learning
rate on the Adult demo data, then checked on a synthetic 1M x 50 table). AdamW at batch 1024 with learning rate
5e-3 reaches the plateau test AUC (about 0.908 on Adult) in 4 epochs, as fast as any setting tried: batch 256-512
costs 1.5-2.5x more per epoch for the same number of epochs, and batches of 2048+ need 8-11 epochs (or a learning
rate at which the AUC wobbles). Early stopping with patience 3 on the validation loss then ends a run after about
9 epochs (about 0.4 s on Adult), so 30 epochs is a ceiling rather than a cost.

``from_dict`` rejects unknown keys (a typo such as ``learning_rte`` must not silently fall back to a default) but
fills keys missing from older stored runs with today's defaults.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.dp import config_is_private
from core.errors import ConfigError
from core.models.model_config import MODEL_KINDS, ModelConfig

OPTIMIZERS = ("adamw", "sgd")
SOLVERS = ("auto", "lbfgs", "minibatch")
ACCOUNTANT_CHOICES = ("prv", "rdp")
BOTH_PRIVACY = ("set either target_epsilon or noise_multiplier for a private run, not both; leave both empty for a "
                "non-private run.")
CLASS_WEIGHTS = ("none", "balanced")
UNKNOWN_KEYS = "unknown training option(s) {names}; known options are {known}."
BAD_VALUE = "{name} must be {rule}; got {value!r}."
BAD_FRACTIONS = "the validation and test fractions together must be below 0.9 so most rows train; got {total:.2f}."
LBFGS_ONLY = ("solver 'lbfgs' solves non-private logistic regression only; use solver 'minibatch' or 'auto' for "
              "an MLP or a private run.")
NOT_A_MAPPING = "training options must be a mapping of option name to value; got {kind}."

#: Settings that train well under DP-SGD's noise: measured on the Adult demo (bench/bench_privacy.py) at epsilon 1,
#: test accuracy 0.849 against 0.852 without privacy, while AdamW at its default learning rate plateaued near 0.82.
#: Noisy gradients want a large, steady SGD step and a fixed number of epochs (early stopping would peek at the
#: validation loss after every epoch, and each extra epoch is budget already spent). The CLI applies it to a private
#: run for every option not given explicitly; the Train page offers it as a ticked box.
DP_RECIPE: dict[str, Any] = {"optimizer": "sgd", "learning_rate": 0.5, "momentum": 0.9, "epochs": 10,
                             "early_stopping_patience": 0}


def _knob(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a model is trained; stored with each run so it can be rebuilt exactly."""

    model: str = _knob("mlp", "Model family. 'logistic' is one linear layer (a calibrated, easy-to-explain "
                              "baseline); 'mlp' adds hidden layers and can learn interactions between features.")
    hidden: tuple[int, ...] = _knob((64, 32), "Neurons in each hidden layer of the MLP, first to last. Bigger "
                                             "layers fit more complex patterns but overfit small tables sooner.")
    dropout: float = _knob(0.0, "Share of hidden neurons switched off at random during training (0 = off). A mild "
                                "guard against overfitting; rarely needed with early stopping.")
    layernorm: bool = _knob(False, "Normalise each hidden layer's activations per row. Can steady training at high "
                                   "learning rates; safe with differential privacy (unlike BatchNorm).")
    solver: str = _knob("auto", "How the weights are found. 'auto': logistic regression is solved to its optimum "
                                "with full-batch L-BFGS (as scikit-learn does) and the MLP and private runs train in "
                                "minibatches; 'lbfgs' asks for the exact solver (logistic, non-private only); "
                                "'minibatch' trains any model with the optimizer below, step by step (the textbook "
                                "SGD loop).")
    C: float = _knob(1.0, "Logistic regression with L-BFGS: inverse strength of the L2 penalty, exactly scikit-learn's "
                          "LogisticRegression(C=...). The penalty added to the mean loss is ||W||^2 / (2 C n_train); "
                          "smaller C regularises more. The intercept is not penalised.")
    tol: float = _knob(1e-4, "Logistic regression with L-BFGS: stop when no entry of the objective's gradient is above "
                             "this, exactly scikit-learn's tol (default 1e-4 as there). Smaller solves closer to the "
                             "optimum: 1e-10 reproduces scikit-learn's coefficients at tol=1e-12 to 1e-4.")
    epochs: int = _knob(30, "Most passes over the training rows. With early stopping on, training usually ends "
                            "sooner. Small tables get more passes until the step budget (min_steps) is reached.")
    min_steps: int = _knob(2000, "Minibatch training: the least number of optimiser steps a run may take before its "
                                 "epochs run out. On a few thousand rows 30 epochs are only a few hundred steps, "
                                 "too few to converge; the run then gets more epochs (early stopping on the "
                                 "validation loss still ends it when it stops improving). 0 keeps the epoch count. "
                                 "Private runs keep their epochs (each step spends privacy).")
    batch_size: int = _knob(1024, "Rows per gradient step. Larger batches run faster per epoch (fewer steps) but "
                                 "learn less per epoch; lower it if a GPU runs out of memory.")
    optimizer: str = _knob("adamw", "Update rule. 'adamw' adapts the step size per weight and needs little tuning; "
                                    "'sgd' (with momentum) is simpler and the usual choice for privacy studies.")
    learning_rate: float = _knob(5e-3, "Size of each update step. Too high and the loss jumps or becomes NaN; too "
                                       "low and training crawls. AdamW: 1e-3 to 1e-2; SGD: 1e-2 to 1e-1.")
    weight_decay: float = _knob(1e-4, "Pull on the weights towards zero (L2-style regularisation). 0 turns it off; "
                                      "larger values give smoother, less overfit models.")
    momentum: float = _knob(0.9, "SGD only: how much of the previous step carries into the next (0 to below 1).")
    early_stopping_patience: int = _knob(3, "Stop after this many epochs without a better validation loss and keep "
                                            "the best epoch's weights. 0 turns early stopping off (the last epoch's "
                                            "weights are kept).")
    class_weights: str = _knob("none", "'balanced' weighs errors on the rarer class more, trading precision for "
                                       "recall on it; 'none' learns calibrated probabilities.")
    seed: int = _knob(0, "Random seed for the split, the initial weights and the batch order: the same seed on the "
                         "same device gives the same model.")
    val_fraction: float = _knob(0.15, "Share of rows held out to watch for overfitting and to pick the best epoch.")
    test_fraction: float = _knob(0.15, "Share of rows never used in training, for the final, honest scores.")
    threshold: float = _knob(0.5, "Predicted probability of the positive class above which a row counts as "
                                  "positive (for accuracy, precision, recall and the confusion matrix).")
    # privacy (DP-SGD): a run is private when target_epsilon or noise_multiplier is set
    target_epsilon: float | None = _knob(None, "Privacy budget for differentially private training (DP-SGD). "
                                               "Epsilon bounds how much any one row can change the model: whatever "
                                               "an attacker does, their odds of telling whether a row was used grow "
                                               "by at most a factor e^epsilon. Below 1 is strong protection; large "
                                               "deployments have chosen about 1 to 20 (the 2020 US Census used a "
                                               "total of about 17 for its person-level data, Apple 2 to 8 per day "
                                               "on phones). Empty (with no noise multiplier) trains without "
                                               "privacy: such a run has no guarantee at all.")
    noise_multiplier: float | None = _knob(None, "Instead of a target epsilon: the Gaussian noise added to each "
                                                 "step's summed gradients, as a multiple of the clipping norm. "
                                                 "More noise, smaller epsilon, lower accuracy. Riskboard reports "
                                                 "the epsilon it spends.")
    delta: float | None = _knob(None, "Chance that the epsilon promise fails outright (for example one row leaking "
                                      "in full). Keep it far below 1 / rows; empty uses a power of ten below 1 / "
                                      "rows, at most 1e-5, and shows it.")
    max_grad_norm: float = _knob(1.0, "Private runs only: each row's gradient is shortened to at most this length "
                                      "before noise is added, so no single row can move the model further. 0.5 "
                                      "to 2 is usual; smaller clips more, larger needs more noise.")
    accountant: str = _knob("prv", "How epsilon is counted: 'prv' (the tightest estimate; at very large epsilon it "
                                   "fails and Riskboard falls back to 'rdp' and says so) or 'rdp' (a slightly "
                                   "looser bound, always available).")

    # ---------------------------------------------------------------------------------------------------- helpers
    @classmethod
    def help(cls) -> dict[str, str]:
        """Option name -> help text, in declaration order (for tooltips)."""
        return {f.name: f.metadata["help"] for f in fields(cls)}

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @property
    def private(self) -> bool:
        """True when the run trains with DP-SGD (a target epsilon or a noise multiplier is set)."""
        return config_is_private({"target_epsilon": self.target_epsilon, "noise_multiplier": self.noise_multiplier})

    @property
    def uses_lbfgs(self) -> bool:
        """True when the run is solved exactly by full-batch L-BFGS (:mod:`core.training.lbfgs`): a non-private
        logistic model with solver 'auto' or 'lbfgs'."""
        return self.model == "logistic" and not self.private and self.solver in ("auto", "lbfgs")

    def model_config(self) -> ModelConfig:
        """The architecture part, for :func:`core.models.build_model`."""
        return ModelConfig(model=self.model, hidden=tuple(self.hidden), dropout=self.dropout, layernorm=self.layernorm)

    def validate(self) -> TrainConfig:
        """Raise :class:`ConfigError` naming the first unusable option; returns ``self`` for chaining."""
        if self.model not in MODEL_KINDS:
            raise ConfigError(BAD_VALUE.format(name="model", rule=f"one of {', '.join(MODEL_KINDS)}",
                                               value=self.model))
        self.model_config().validate()
        _whole("epochs", self.epochs, 1, 10_000)
        _whole("batch_size", self.batch_size, 1, 1 << 22)
        _whole("min_steps", self.min_steps, 0, 1_000_000)
        _choice("solver", self.solver, SOLVERS)
        _number("C", self.C, "above 0 and at most 1e12", lambda v: 0 < v <= 1e12)
        _number("tol", self.tol, "above 0 and at most 1", lambda v: 0 < v <= 1)
        if self.solver == "lbfgs" and (self.model != "logistic" or self.private):
            raise ConfigError(LBFGS_ONLY)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _number("learning_rate", self.learning_rate, "above 0 and at most 100", lambda v: 0 < v <= 100)
        _number("weight_decay", self.weight_decay, "from 0 to 10", lambda v: 0 <= v <= 10)
        _number("momentum", self.momentum, "at least 0 and below 1", lambda v: 0 <= v < 1)
        _whole("early_stopping_patience", self.early_stopping_patience, 0, 10_000)
        _choice("class_weights", self.class_weights, CLASS_WEIGHTS)
        _whole("seed", self.seed, 0, 2**32 - 1)
        _number("val_fraction", self.val_fraction, "above 0 and below 1", lambda v: 0 < v < 1)
        _number("test_fraction", self.test_fraction, "above 0 and below 1", lambda v: 0 < v < 1)
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ConfigError(BAD_FRACTIONS.format(total=self.val_fraction + self.test_fraction))
        _number("threshold", self.threshold, "above 0 and below 1", lambda v: 0 < v < 1)
        self._validate_privacy()
        if not isinstance(self.layernorm, bool):
            raise ConfigError(BAD_VALUE.format(name="layernorm", rule="true or false", value=self.layernorm))
        return self

    def _validate_privacy(self) -> None:
        if self.target_epsilon is not None and self.noise_multiplier is not None:
            raise ConfigError(BOTH_PRIVACY)
        if self.target_epsilon is not None:
            _number("target_epsilon", self.target_epsilon, "above 0 and at most 1000", lambda v: 0 < v <= 1000)
        if self.noise_multiplier is not None:
            _number("noise_multiplier", self.noise_multiplier, "above 0 and at most 1000000",
                    lambda v: 0 < v <= 1e6)
        if self.delta is not None:
            _number("delta", self.delta, "above 0 and below 0.01", lambda v: 0 < v < 0.01)
        _number("max_grad_norm", self.max_grad_norm, "above 0 and at most 1000", lambda v: 0 < v <= 1000)
        _choice("accountant", self.accountant, ACCOUNTANT_CHOICES)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``hidden`` as a list)."""
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild and validate; unknown keys are rejected, missing keys take the defaults."""
        if not isinstance(data, dict):
            raise ConfigError(NOT_A_MAPPING.format(kind=type(data).__name__))
        known = cls.option_names()
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ConfigError(UNKNOWN_KEYS.format(names=", ".join(repr(k) for k in unknown), known=", ".join(known)))
        values = dict(data)
        if "hidden" in values:
            hidden = values["hidden"]
            if isinstance(hidden, int) and not isinstance(hidden, bool):
                hidden = [hidden]
            if not isinstance(hidden, list | tuple):
                raise ConfigError(BAD_VALUE.format(name="hidden", rule="a list of layer sizes", value=hidden))
            values["hidden"] = tuple(hidden)
        for name in ("dropout", "learning_rate", "weight_decay", "momentum", "val_fraction", "test_fraction",
                     "threshold", "C", "tol", "target_epsilon", "noise_multiplier", "delta", "max_grad_norm"):
            value = values.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                values[name] = float(value)
        return cls(**values).validate()


def _whole(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(BAD_VALUE.format(name=name, rule=f"a whole number from {low} to {high}", value=value))


def _choice(name: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(BAD_VALUE.format(name=name, rule=f"one of {', '.join(options)}", value=value))


def _number(name: str, value: Any, rule: str, ok: Any) -> None:
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or not ok(value)):
        raise ConfigError(BAD_VALUE.format(name=name, rule=rule, value=value))
