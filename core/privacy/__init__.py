"""Privacy: accountants and the budget calculator, DP-SGD training, and the membership-inference audit."""

from core.privacy._accountant import (
    ACCOUNTANTS,
    EpsilonMeter,
    EpsilonResult,
    NoiseResult,
    compute_epsilon,
    default_delta,
    epsilon_grid,
    epsilon_over_epochs,
    find_noise_multiplier,
    prv_epsilon,
    rdp_epsilon,
    sample_rate,
    steps_per_epoch,
)

__all__ = [
    "ACCOUNTANTS",
    "EpsilonMeter",
    "EpsilonResult",
    "NoiseResult",
    "compute_epsilon",
    "default_delta",
    "epsilon_grid",
    "epsilon_over_epochs",
    "find_noise_multiplier",
    "prv_epsilon",
    "rdp_epsilon",
    "sample_rate",
    "steps_per_epoch",
]
