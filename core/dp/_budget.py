"""The budget calculator: what a planned private run would spend, before any training, with training's own math.

``plan_budget`` turns (rows, batch size, epochs) plus either a noise multiplier or a target epsilon into the
numbers a private run would use: the sampling rate ``batch / rows``, ``ceil(rows / batch)`` steps an epoch (the
same :func:`sample_rate` and :func:`steps_per_epoch` as the DP-SGD step of :mod:`core.training`) and the
accountant's epsilon or noise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.dp._accountant import (
    check_accountant,
    compute_epsilon,
    default_delta,
    epsilon_grid,
    epsilon_over_epochs,
    find_noise_multiplier,
    sample_rate,
    steps_per_epoch,
)
from core.errors import ConfigError

BAD_WHOLE = "{name} must be a whole number from {low:,} to {high:,}; got {value!r}."
ONE_OF = "give either a noise multiplier or a target epsilon, not both and not neither."


@dataclass(frozen=True)
class BudgetPlan:
    epsilon: float
    noise_multiplier: float
    delta: float
    accountant: str
    note: str | None
    sample_rate: float
    steps_per_epoch: int
    steps: int
    rows: int
    batch_size: int
    epochs: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(BAD_WHOLE.format(name=name, low=low, high=high, value=value))
    return value


def plan_budget(*, rows: int, batch_size: int, epochs: int, noise_multiplier: float | None = None,
                target_epsilon: float | None = None, delta: float | None = None,
                accountant: str = "prv") -> BudgetPlan:
    """Epsilon for a noise multiplier, or the noise a target epsilon needs (never overshooting it)."""
    _whole("rows", rows, 1, 10**9)
    _whole("batch size", batch_size, 1, 10**9)
    _whole("epochs", epochs, 1, 10_000)
    check_accountant(accountant)
    if (noise_multiplier is None) == (target_epsilon is None):
        raise ConfigError(ONE_OF)
    delta = default_delta(rows) if delta is None else delta
    rate, per_epoch = sample_rate(rows, batch_size), steps_per_epoch(rows, batch_size)
    steps = per_epoch * epochs
    if noise_multiplier is not None:
        spent = compute_epsilon(noise_multiplier=noise_multiplier, sample_rate=rate, steps=steps, delta=delta,
                                accountant=accountant)
        return BudgetPlan(spent.epsilon, float(noise_multiplier), delta, spent.accountant, spent.note, rate, per_epoch,
                          steps, rows, batch_size, epochs)
    found = find_noise_multiplier(target_epsilon=target_epsilon, sample_rate=rate, steps=steps, delta=delta,
                                  accountant=accountant)
    return BudgetPlan(found.epsilon, found.noise_multiplier, delta, found.accountant, found.note, rate, per_epoch,
                      steps, rows, batch_size, epochs)


def plan_noise(*, rows: int, batch_size: int, epochs: int, noise_multiplier: float | None,
               target_epsilon: float | None, delta: float | None, accountant: str) -> tuple[float, float, float, int]:
    """(noise multiplier, delta, sampling rate, steps per epoch) for DP-SGD over ``rows`` rows: the given noise, or
    the smallest noise whose epsilon after all ``epochs`` stays within ``target_epsilon`` (early stopping only
    ever spends less). The training step calls this; :func:`plan_budget` answers the same question for a plan."""
    delta = delta if delta is not None else default_delta(rows)
    rate, per_epoch = sample_rate(rows, batch_size), steps_per_epoch(rows, batch_size)
    if noise_multiplier is not None:
        return float(noise_multiplier), delta, rate, per_epoch
    found = find_noise_multiplier(target_epsilon=float(target_epsilon), sample_rate=rate, steps=per_epoch * epochs,
                                  delta=delta, accountant=accountant)
    return found.noise_multiplier, delta, rate, per_epoch


#: The calculator's heat map: epsilon for these noise multipliers (rows) after these epochs (columns).
HEAT_NOISE = (0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0)
HEAT_EPOCHS = (1, 2, 5, 10, 20, 30, 50)
CURVE_POINTS = 8


def budget_view(*, rows: int, batch_size: int, epochs: int, noise_multiplier: float | None,
                target_epsilon: float | None, delta: float | None, accountant: str) -> dict[str, Any]:
    """Everything the budget calculator shows: the plan, epsilon over epochs (every epoch with RDP; eight points
    with PRV, each costing a fraction of a second) and the noise x epochs grid, as plain JSON-ready values."""
    plan = plan_budget(rows=rows, batch_size=batch_size, epochs=epochs, noise_multiplier=noise_multiplier,
                       target_epsilon=target_epsilon, delta=delta, accountant=accountant)
    if accountant == "rdp":
        xs = list(range(1, epochs + 1))
        curve = epsilon_over_epochs(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate,
                                    steps_per_epoch=plan.steps_per_epoch, epochs=epochs, delta=plan.delta,
                                    accountant="rdp")
    else:
        xs = sorted({max(1, round(epochs * i / CURVE_POINTS)) for i in range(1, CURVE_POINTS + 1)})
        curve = [compute_epsilon(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate,
                                 steps=plan.steps_per_epoch * e, delta=plan.delta, accountant=accountant) for e in xs]
    grid = epsilon_grid(noise_multipliers=list(HEAT_NOISE), epochs=list(HEAT_EPOCHS), sample_rate=plan.sample_rate,
                        steps_per_epoch=plan.steps_per_epoch, delta=plan.delta)
    return {"plan": plan.to_dict(), "epochs": xs, "epsilons": [c.epsilon for c in curve], "grid": grid.tolist(),
            "heat_noise": list(HEAT_NOISE), "heat_epochs": list(HEAT_EPOCHS)}
