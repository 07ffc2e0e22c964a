"""Differential-privacy maths, a leaf under training: accountants (PRV with RDP fallback), the noise search, the
budget calculator, per-row clipping in closed form and the run's ``privacy.json`` record.

Nothing here imports :mod:`core.training`; the training loop plugs these into its DP-SGD gradient step, and the
Privacy page and ``python -m core budget`` call the same functions, so a plan and a run never disagree.
"""

from core._lazy import lazy_exports
from core.dp._accountant import (
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
from core.dp._budget import HEAT_EPOCHS, HEAT_NOISE, BudgetPlan, budget_view, plan_budget, plan_noise
from core.dp._record import (
    PRIVACY_JSON,
    config_is_private,
    is_private,
    load_privacy,
    privacy_metrics,
    save_privacy,
    spent_epsilon,
)

# the clipping step imports torch: loaded on first use, so reading a run's privacy record (reports, fairness,
# budgets) does not pay for torch's import
_, __getattr__ = lazy_exports(__name__, {"clipped_grad_step": "core.dp._clipping", "layer_chain": "core.dp._clipping"})


__all__ = [
    "ACCOUNTANTS",
    "HEAT_EPOCHS",
    "HEAT_NOISE",
    "PRIVACY_JSON",
    "BudgetPlan",
    "EpsilonMeter",
    "EpsilonResult",
    "NoiseResult",
    "budget_view",
    "clipped_grad_step",
    "compute_epsilon",
    "config_is_private",
    "default_delta",
    "epsilon_grid",
    "epsilon_over_epochs",
    "find_noise_multiplier",
    "is_private",
    "layer_chain",
    "load_privacy",
    "plan_budget",
    "plan_noise",
    "privacy_metrics",
    "prv_epsilon",
    "rdp_epsilon",
    "sample_rate",
    "save_privacy",
    "spent_epsilon",
    "steps_per_epoch",
]
