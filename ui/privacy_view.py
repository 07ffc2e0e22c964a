"""Privacy on the Train page: the DP knobs with plain-language help, the live budget meter, the run summary."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from core.dp import load_privacy, spent_epsilon
from core.figures.privacy import budget_meter_figure, epsilon_curve_figure
from core.training.config import DP_RECIPE, TrainConfig
from ui.feedback import user_errors
from ui.text import md_escape
from ui.tiles import metric_tiles

HELP = TrainConfig.help()
DEFAULTS = TrainConfig()
RECIPE_TEXT = "SGD, momentum 0.9, learning rate 0.5, 10 epochs, early stopping off."
ACCOUNTANT_WORDS = {"prv": "PRV (tightest estimate)", "rdp": "RDP (classic bound)"}
MODES = ("Off: no privacy guarantee", "Target epsilon", "Fixed noise multiplier")
BAD_DELTA = "Delta must be a number such as 1e-5, or empty for the default."

EXPLAINER = """
**What differential privacy promises.** With DP-SGD, each row's influence on every training step is capped (its
gradient is clipped) and hidden under random noise. The result is a guarantee that holds whatever an attacker
knows: the trained model is almost as likely to come out the same whether or not any one person's row was in the
data. **Epsilon** measures "almost": an attacker's odds of telling whether a row was used grow by at most a factor
of e^epsilon (epsilon 1: at most 2.7x; epsilon 8: up to about 3,000x, which is weak). **Delta** is the small chance
that the promise fails outright; keep it far below 1 / rows.

**Typical values.** Below 1 is strong protection. Large deployments have chosen between about 1 and 20: the 2020
US Census used a total epsilon of about 17 for its person-level redistricting data, Apple reports budgets of 2 to 8
per day for data collected from phones, and Google has trained Gboard language models with single-digit epsilons.
(Damien Desfontaines keeps a list of real-world deployments and their parameters: "A list of real-world uses of
differential privacy".)

**Tuning spends privacy too.** Every extra run you train on the same private data to pick a learning rate, clipping
norm or epoch count leaks a little more than each run's epsilon says. Tune on public or synthetic data when you can,
or count the runs you tried.

**A recipe that works.** On the Adult demo, SGD with momentum 0.9, learning rate 0.5, batch 1024, 10 epochs and
early stopping off reached 0.849 test accuracy at epsilon 1 (0.852 without privacy); AdamW at its default learning
rate did worse under noise.

**A non-private run has no guarantee at all**: its epsilon is not "large", it is undefined. The membership audit on
the Privacy page shows how much such a model actually leaks.
"""


def privacy_fields(container: Any) -> dict[str, Any]:
    """The privacy inputs inside the Train form; returns raw widget values for :func:`privacy_options`."""
    container.markdown("**Differential privacy (DP-SGD)**")
    with container.expander("What do these settings promise?"):
        st.markdown(EXPLAINER)
    a, b, c = container.columns(3)
    mode = a.radio("Privacy", MODES, index=0, key="dp-mode",
                   help="Off trains the usual way. A target epsilon derives the noise so the budget is never "
                        "exceeded; a fixed noise multiplier reports the epsilon it spends.")
    epsilon = b.number_input("Target epsilon", 0.01, 1000.0, 1.0, 0.1, key="dp-epsilon",
                             help=HELP["target_epsilon"])
    noise = b.number_input("Noise multiplier", 0.01, 1000.0, 1.0, 0.1, key="dp-noise", help=HELP["noise_multiplier"])
    clip = c.number_input("Clipping norm", 0.01, 1000.0, DEFAULTS.max_grad_norm, 0.1, key="dp-clip",
                          help=HELP["max_grad_norm"])
    delta = c.text_input("Delta (empty: below 1 / rows)", "", key="dp-delta", help=HELP["delta"])
    accountant = a.selectbox("Accountant", ["prv", "rdp"], key="dp-accountant", help=HELP["accountant"],
                             format_func=ACCOUNTANT_WORDS.get)
    recipe = container.checkbox(
        "For a private run, use the DP-SGD recipe instead of the settings above: " + RECIPE_TEXT, True,
        key="dp-recipe", help="Noisy gradients train better with a large, steady SGD step and a fixed number of "
                              "epochs; on the Adult demo this reached 0.849 accuracy at epsilon 1 (0.852 without "
                              "privacy). Untick to train a private run with exactly the settings above.")
    return {"mode": mode, "epsilon": epsilon, "noise": noise, "clip": clip, "delta": delta, "accountant": accountant,
            "recipe": recipe}


def privacy_options(values: dict[str, Any]) -> dict[str, Any] | None:
    """TrainConfig keys for the chosen privacy mode, or None (after showing why) when delta does not parse."""
    if values["mode"] == MODES[0]:
        return {}
    delta = None
    text = str(values["delta"]).strip()
    if text:
        try:
            delta = float(text)
        except ValueError:
            st.error(BAD_DELTA)
            return None
    options = {"max_grad_norm": float(values["clip"]), "delta": delta, "accountant": values["accountant"]}
    if values["mode"] == MODES[1]:
        options["target_epsilon"] = float(values["epsilon"])
    else:
        options["noise_multiplier"] = float(values["noise"])
    return (DP_RECIPE | options) if values.get("recipe") else options


def spent_series(history: list[dict]) -> tuple[list[int], list[float]]:
    pairs = [(int(h["epoch"]), float(h["epsilon"])) for h in history if h.get("epsilon") is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def meter_reading(history: list[dict], config: dict | None) -> tuple[float | None, float | None, str]:
    """(spent so far, budget to show it against, what the budget is) for a run's live meter."""
    config = config or {}
    _, spent = spent_series(history)
    last = spent[-1] if spent else None
    if config.get("target_epsilon") is not None:
        return last, float(config["target_epsilon"]), "target"
    return last, None, "spent so far (fixed noise: no target)"


def live_meter(history: list[dict], config: dict | None, run_id: str, container: Any = None) -> None:
    """The budget meter beside the loss curves while a private run trains (nothing for a non-private run)."""
    config = config or {}
    if config.get("target_epsilon") is None and config.get("noise_multiplier") is None:
        return
    where = container or st
    spent, budget, label = meter_reading(history, config)
    where.plotly_chart(budget_meter_figure(spent, budget, label=label), width="stretch", key=f"meter-{run_id}")
    if spent is None:
        where.caption("Epsilon appears after the first epoch (finding the noise for a target can take seconds).")


def run_summary(store: Any, record: Any) -> None:
    """Epsilon, delta, accountant, noise and clipping of a finished private run; a plain note for others."""
    metrics = record.metrics or {}
    if spent_epsilon(record) is None:
        st.caption("Not trained with differential privacy: this model carries no privacy guarantee. Audit it on "
                   "the Privacy page to see how much it leaks.")
        return
    privacy = None
    with user_errors():
        privacy = load_privacy(store.artifacts(record.id))
    accountant = (privacy or {}).get("accountant", "?")
    st.markdown("**Differential privacy**")
    metric_tiles([("Epsilon spent", f"{metrics['epsilon']:.3f}"), ("Delta", f"{metrics['delta']:.0e}"),
                  ("Accountant", str(accountant).upper()), ("Noise multiplier", f"{metrics['noise_multiplier']:.3f}"),
                  ("Clipping norm", f"{metrics['max_grad_norm']:g}")])
    note = (privacy or {}).get("accountant_note")
    if note:
        st.info(md_escape(note))
    target = metrics.get("target_epsilon")
    if target is not None and math.isfinite(target):
        st.caption(md_escape(f"Target epsilon {target:g}; spent {metrics['epsilon']:.3f} over "
                             f"{int(metrics['dp_steps'])} noisy steps at sampling rate {metrics['sample_rate']:.4f}."))
    epochs, spent = spent_series(store.epochs(record.id))
    st.plotly_chart(epsilon_curve_figure(epochs, spent, target=target), width="stretch", key=f"eps-{record.id}")
