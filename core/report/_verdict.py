"""The team's thresholds applied to one run: one :class:`Check` per threshold, shared by the report's verdict and
``python -m core check`` so the page, the report and the CI gate never disagree.

Each check has a report ``status`` (pass / attention / fail / not run) and a gate decision ``passed``:

* **AUC** (minimum): passes on the test-set point estimate; "attention" when its 95% interval (Hanley & McNeil,
  1982, from the test class counts) reaches below the limit.
* **Disparity** (maximum): passes only when the *whole* 95% bootstrap interval is within the limit; a point
  estimate under the limit with an interval crossing it is "attention" in the report and a failure at the gate.
* **Epsilon** (maximum): the accountant's upper bound; a run without differential privacy has epsilon infinity
  (no guarantee at all) and fails.
* **Attack AUC / empirical epsilon** (maximum): the membership audit's point estimates; "attention" when the
  empirical epsilon's interval crosses the limit, or when the audit's own ceiling is below the limit (the audit could
  not have seen a leak that large, so passing says little).

A threshold whose analysis has not been run is "not run" with the command that runs it; it never passes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from core.labels import disparity_label
from core.report._adapters import command_for
from core.report._inputs import ReportInputs
from core.report._settings import DISPARITY_METRICS, Thresholds
from core.runs import RunKind
from core.text import format_number

PASS, ATTENTION, FAIL, NOT_RUN = "pass", "attention", "fail", "not run"
Z95 = 1.959963984540054
NOT_A_SENSITIVE_COLUMN = ("{column!r} is not a sensitive column of run {run_id}; its sensitive columns are: "
                          "{choices}.")


@dataclass(frozen=True)
class Check:
    """One threshold judged: ``value`` and ``interval`` as measured, ``limit`` as set by the team."""

    name: str
    label: str
    value: float | None
    interval: tuple[float, float] | None
    limit: float
    direction: str  # ">=" (a minimum) or "<=" (a maximum)
    status: str
    passed: bool
    sentence: str
    command: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["interval"] = list(self.interval) if self.interval else None
        return out

    def line(self) -> str:
        """One line for the CI log: name, value, interval, limit, pass/fail (and why)."""
        value = "n/a" if self.value is None else ("inf" if math.isinf(self.value) else f"{self.value:.4g}")
        interval = "-" if not self.interval else f"[{self.interval[0]:.4g}, {self.interval[1]:.4g}]"
        verdict = "PASS" if self.passed else ("NOT RUN" if self.status == NOT_RUN else "FAIL")
        how = f" Run `{self.command}`." if self.command else ""  # commands for the CI log only, never the card
        return (f"{verdict:<7} {self.name:<20} value {value:<8} interval {interval:<20} limit {self.direction} "
                f"{self.limit:g}  {self.sentence}{how}")


def _fmt(value: float) -> str:
    return format_number(value, infinite="infinity") or str(value)


def auc_interval(auc: float, positives: int, negatives: int) -> tuple[float, float] | None:
    """95% interval of a ROC AUC from its class counts (Hanley & McNeil's standard error)."""
    if positives < 1 or negatives < 1 or not math.isfinite(auc):
        return None
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc))
    se = math.sqrt(max(var, 0.0) / (positives * negatives))
    return max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se)


def class_totals(evaluation: dict[str, Any]) -> tuple[int, int]:
    """(positives, negatives) of the evaluated rows, from the confusion matrix (positive class vs the rest)."""
    matrix = (evaluation.get("confusion") or {}).get("matrix") or []
    index = int(evaluation.get("positive_index", 1))
    positives = sum(int(v) for v in matrix[index]) if index < len(matrix) else 0
    total = sum(int(v) for row in matrix for v in row)
    return positives, total - positives


def _auc_check(inputs: ReportInputs, limit: float) -> Check:
    evaluation = inputs.evaluation or {}
    auc = (evaluation.get("metrics") or {}).get("roc_auc")
    name, label = "min_auc", "Test ROC AUC"
    if auc is None:
        reason = ("this run has 0/1 decisions and no scores, so it has no ROC AUC" if inputs.imported
                  else "the test rows hold a single class, so the ROC AUC is undefined")
        return Check(name, label, None, None, limit, ">=", FAIL, False, f"No AUC to judge: {reason}.")
    positives, negatives = class_totals(evaluation)
    interval = auc_interval(float(auc), positives, negatives)
    size = f"{positives + negatives:,} test rows"
    shown = f"{auc:.3f}" + (f" (95% interval {interval[0]:.3f} to {interval[1]:.3f}, {size})" if interval else
                            f" ({size})")
    if auc < limit:
        return Check(name, label, float(auc), interval, limit, ">=", FAIL, False,
                     f"Test ROC AUC is {shown}, below the team's minimum of {limit:g}.")
    if interval and interval[0] < limit:
        return Check(name, label, float(auc), interval, limit, ">=", ATTENTION, True,
                     f"Test ROC AUC is {shown}: at the team's minimum of {limit:g} or above, but its interval "
                     "reaches below it.")
    return Check(name, label, float(auc), interval, limit, ">=", PASS, True,
                 f"Test ROC AUC is {shown}, above the team's minimum of {limit:g}.")


def _disparity_check(inputs: ReportInputs, thresholds: Thresholds) -> Check:
    limit = float(thresholds.max_disparity)
    metric, column = thresholds.disparity_metric, str(thresholds.sensitive)
    name, label = "max_disparity", f"{DISPARITY_METRICS[metric]} by {column}"
    result = (inputs.fairness or {}).get(column)
    if result is None:
        command = command_for("fairness", inputs.run_id, sensitive=(column,))
        return Check(name, label, None, None, limit, "<=", NOT_RUN, False,
                     f"Fairness by {column!r} has not been computed yet.", command)
    item = (result.get("disparities") or {}).get(metric) or {}
    value, ci = item.get("value"), item.get("ci") or [None, None]
    if value is None:
        return Check(name, label, None, None, limit, "<=", ATTENTION, False,
                     f"Not enough data to measure the {disparity_label(metric).lower()} by {column!r} "
                     "(groups too small); the limit cannot be checked.")
    interval = (float(ci[0]), float(ci[1])) if None not in ci[:2] else None
    shown = f"{value:.3f}" + (f" (95% interval {interval[0]:.3f} to {interval[1]:.3f})" if interval else
                              " (no interval)")
    what = f"The {disparity_label(metric).lower()} by {column!r} is {shown}"
    if value > limit:
        return Check(name, label, float(value), interval, limit, "<=", FAIL, False,
                     f"{what}, above the team's maximum of {limit:g}.")
    if interval is None or interval[1] > limit:
        return Check(name, label, float(value), interval, limit, "<=", ATTENTION, False,
                     f"{what}: under the team's maximum of {limit:g}, but the whole interval must be within it to "
                     "pass, and it is not.")
    return Check(name, label, float(value), interval, limit, "<=", PASS, True,
                 f"{what}: the whole interval is within the team's maximum of {limit:g}.")


def _epsilon_check(inputs: ReportInputs, limit: float) -> Check:
    name, label = "max_epsilon", "Privacy budget epsilon (accountant's upper bound)"
    if inputs.imported:
        return Check(name, label, None, None, limit, "<=", FAIL, False,
                     "This run was imported from scores of a model trained elsewhere; Riskboard cannot know its "
                     "privacy guarantee, so the epsilon limit cannot be met.")
    privacy = inputs.privacy or {}
    if not privacy.get("private") or privacy.get("epsilon") is None:
        return Check(name, label, math.inf, None, limit, "<=", FAIL, False,
                     f"Trained without differential privacy: epsilon is infinity (no guarantee at all), above the "
                     f"team's maximum of {limit:g}.")
    epsilon = float(privacy["epsilon"])
    delta = privacy.get("delta")
    detail = f"epsilon {epsilon:.3f}" + (f" at delta {delta:.1e}" if isinstance(delta, int | float) else "")
    if epsilon > limit:
        return Check(name, label, epsilon, None, limit, "<=", FAIL, False,
                     f"Trained with differential privacy at {detail}, above the team's maximum of {limit:g}.")
    return Check(name, label, epsilon, None, limit, "<=", PASS, True,
                 f"Trained with differential privacy at {detail}, within the team's maximum of {limit:g}.")


def _audit_missing(inputs: ReportInputs, name: str, label: str, limit: float) -> Check:
    if inputs.imported:
        return Check(name, label, None, None, limit, "<=", NOT_RUN, False,
                     "A membership audit needs the model itself; this run was imported from scores, so it cannot be "
                     "audited here.")
    command = command_for("audit", inputs.run_id, uploaded=inputs.run.get("kind") == RunKind.UPLOADED)
    return Check(name, label, None, None, limit, "<=", NOT_RUN, False,
                 "No membership-inference audit has been run yet.", command)


def _attack_auc_check(inputs: ReportInputs, limit: float) -> Check:
    name, label = "max_attack_auc", "Membership-attack ROC AUC"
    audit = inputs.audit
    if audit is None or audit.get("attack_auc") is None:
        return _audit_missing(inputs, name, label, limit)
    value = float(audit["attack_auc"])
    what = f"A {audit.get('attack', 'membership')} attack tells training rows from held-out rows with AUC {value:.3f}"
    if value > limit:
        return Check(name, label, value, None, limit, "<=", FAIL, False,
                     f"{what}, above the team's maximum of {limit:g}.")
    return Check(name, label, value, None, limit, "<=", PASS, True,
                 f"{what} (0.5 is a coin flip), within the team's maximum of {limit:g}.")


def _empirical_epsilon_check(inputs: ReportInputs, limit: float) -> Check:
    name, label = "max_empirical_epsilon", "Empirical epsilon (audit's lower bound)"
    audit = inputs.audit
    if audit is None or audit.get("epsilon_lower_bound") is None:
        return _audit_missing(inputs, name, label, limit)
    value = float(audit["epsilon_lower_bound"])
    ci = audit.get("epsilon_lower_bound_ci") or [None, None]
    interval = (float(ci[0]), float(ci[1])) if None not in ci[:2] else None
    ceiling = audit.get("epsilon_ceiling")
    what = f"The audit certifies an epsilon of at least {value:.3f}"
    if interval:
        what += f" (95% interval {interval[0]:.3f} to {interval[1]:.3f})"
    if value > limit:
        return Check(name, label, value, interval, limit, "<=", FAIL, False,
                     f"{what}, above the team's maximum of {limit:g}.")
    if isinstance(ceiling, int | float) and ceiling < limit:
        return Check(name, label, value, interval, limit, "<=", ATTENTION, True,
                     f"{what}, within the team's maximum of {limit:g}; but this audit cannot certify more than "
                     f"{ceiling:.2f}, so it could not have seen a leak as large as the limit.")
    if interval and interval[1] > limit:
        return Check(name, label, value, interval, limit, "<=", ATTENTION, True,
                     f"{what}, within the team's maximum of {limit:g}, though its interval crosses it.")
    return Check(name, label, value, interval, limit, "<=", PASS, True,
                 f"{what}, within the team's maximum of {limit:g}.")


def evaluate_checks(inputs: ReportInputs, thresholds: Thresholds | None = None) -> list[Check]:
    """One check per threshold the team set, in the order the report shows them."""
    thresholds = (thresholds or inputs.thresholds).validate()
    checks: list[Check] = []
    if thresholds.min_auc is not None:
        checks.append(_auc_check(inputs, float(thresholds.min_auc)))
    if thresholds.max_disparity is not None:
        checks.append(_disparity_check(inputs, thresholds))
    if thresholds.max_epsilon is not None:
        checks.append(_epsilon_check(inputs, float(thresholds.max_epsilon)))
    if thresholds.max_attack_auc is not None:
        checks.append(_attack_auc_check(inputs, float(thresholds.max_attack_auc)))
    if thresholds.max_empirical_epsilon is not None:
        checks.append(_empirical_epsilon_check(inputs, float(thresholds.max_empirical_epsilon)))
    return checks


def overall(checks: list[Check]) -> str:
    """The verdict in one word: fail if any fails, attention if any needs it (or was not run), else pass."""
    if not checks:
        return "not judged"
    if any(c.status == FAIL for c in checks):
        return FAIL
    if any(c.status in (ATTENTION, NOT_RUN) for c in checks):
        return ATTENTION
    return PASS
