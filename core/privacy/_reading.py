"""Plain-language reading of an audit: the sentences the Privacy page shows above the numbers."""

from __future__ import annotations

import math

from core.privacy._audit import AuditResult

CHANCE_BAND = 0.55
GROUP_GAP = 0.03


def _auc_phrase(auc: float) -> str:
    if not math.isfinite(auc):
        return "The attack could not be scored on these rows."
    if auc < CHANCE_BAND:
        return f"An attacker guessing membership does about as well as a coin flip (attack AUC {auc:.3f})."
    if auc < 0.65:
        return f"An attacker can tell training rows from others a little better than chance (attack AUC {auc:.3f})."
    return (f"An attacker can often tell whether a row was in the training data (attack AUC {auc:.3f}): this "
            "model leaks membership.")


def audit_reading(result: AuditResult) -> list[str]:
    """Sentences, most important first: overall leakage, the bounds side by side, whose records leak more."""
    main = result.main
    lines = [_auc_phrase(main.auc) + f" Audited {main.n_members:,} training rows against {main.n_nonmembers:,} "
             "held-out rows."]
    high = main.epsilon_lower_bound_ci[1]
    if main.epsilon_lower_bound > 0:
        lines.append(f"The attack proves epsilon is at least {main.epsilon_lower_bound:.2f} (95% confidence; the "
                     f"interval at its best threshold runs to {high:.2f}). This audit could never prove more than "
                     f"{main.epsilon_ceiling:.2f} with this many rows.")
    else:
        lines.append(f"The attack proves no privacy loss at 95% confidence (its lower bound is 0). That is not a "
                     f"guarantee: with this many rows no audit could prove more than {main.epsilon_ceiling:.2f}.")
    if result.epsilon_upper_bound is not None:
        consistent = main.epsilon_lower_bound <= result.epsilon_upper_bound
        lines.append(f"The accountant guarantees epsilon at most {result.epsilon_upper_bound:.2f} (delta "
                     f"{result.delta:g}, {str(result.accountant).upper()}); "
                     + ("the audit's proven lower bound sits below it, as it must." if consistent else
                        "the audit's proven lower bound is above it, which should not happen: report this run."))
    else:
        lines.append("The run was trained without differential privacy, so there is no upper bound: nothing limits "
                     "what a stronger attack could learn.")
    for column, groups in result.by_group.items():
        usable = {g: v for g, v in groups.items() if not v["small"] and v["attack_auc"] is not None
                  and math.isfinite(v["attack_auc"])}
        if len(usable) < 2:
            continue
        worst = max(usable, key=lambda g: usable[g]["attack_auc"])
        value = usable[worst]
        if value["attack_auc"] - main.auc >= GROUP_GAP:
            lines.append(f"Records of the '{worst}' {column} group are easier to identify (attack AUC "
                         f"{value['attack_auc']:.3f} vs {main.auc:.3f} overall; {value['n_members']:,} + "
                         f"{value['n_nonmembers']:,} rows audited).")
    if main.warning:
        lines.append(main.warning)
    return lines
