"""Plain-language sentences about a fairness report, for the page, the CLI and the report.

Each sentence names the groups, the number, its interval and the group sizes behind it, so a reader never sees a
ratio without knowing how many people it rests on. The sentences are plain text: pages escape them for markdown.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from core.fairness._report import FOUR_FIFTHS, FairnessReport
from core.labels import disparity_label, metric_label

_RATE_WORDS = {
    "equal_opportunity_difference": "true positive rates (the share of actual positives the model selects)",
    "accuracy_difference": "accuracies",
}


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "interval undefined"
    return f"interval {low:.2f}-{high:.2f}"


def summarise(report: FairnessReport, *, population: str = "test set") -> list[str]:
    """A few sentences: the selection-rate ratio of the extreme groups, other gaps, small groups, chance gaps."""
    lines = []
    pair = report.selection_pair
    if pair:
        ratio_ci = pair["ci"]
        lines.append(f"{pair['low_group']} is selected at {pair['ratio']:.2f} the rate of {pair['high_group']}; "
                     f"{_interval(ratio_ci[0], ratio_ci[1])}; {pair['low_count']:,} {pair['low_group']} and "
                     f"{pair['high_count']:,} {pair['high_group']} rows in the {population}.")
        ratio = report.disparities["demographic_parity_ratio"]
        status = report.four_fifths
        if status == "fails":
            lines.append(f"The four-fifths rule fails: the lowest selection rate is under {FOUR_FIFTHS:.0%} of the "
                         f"highest, and the ratio's whole {_interval(ratio.low, ratio.high)} is below it.")
        elif status == "uncertain":
            lines.append(f"The four-fifths rule cannot be settled with this data: the ratio's "
                         f"{_interval(ratio.low, ratio.high)} straddles {FOUR_FIFTHS}.")
        else:
            lines.append(f"The four-fifths rule passes: the ratio's {_interval(ratio.low, ratio.high)} stays at or "
                         f"above {FOUR_FIFTHS}.")
    else:
        lines.append("Fewer than two groups have enough data to compare; collect more rows or merge small groups.")
    for key, words in _RATE_WORDS.items():
        gap = report.disparities[key]
        if gap.value is not None:
            lines.append(f"The {words} differ by {gap.value:.2f} between {gap.groups[0]} and {gap.groups[1]} "
                         f"({_interval(gap.low, gap.high)}).")
    small = [g for g in report.groups if g.small]
    if small:
        shown = ", ".join(f"{g.group} ({g.count:,} rows)" for g in small[:5])
        more = f" and {len(small) - 5} more" if len(small) > 5 else ""
        lines.append(f"Not enough data to rank {len(small)} group(s): {shown}{more}; their numbers are shown but "
                     "left out of every gap.")
    c = report.comparisons
    if c.pairs > 1:
        lines.append(f"{c.groups} groups give {c.pairs:,} pairwise comparisons: {c.differing:,} selection-rate gaps "
                     f"have a 95% interval excluding zero, where chance alone would produce about "
                     f"{c.expected_by_chance:g}; {c.differing_adjusted:,} remain after a Bonferroni adjustment "
                     f"(intervals at {c.adjusted_level:.2%}). The largest gap among many groups is partly chance "
                     "(the maximum of noisy estimates), so read it together with these counts.")
    return lines


def _three(value: float | None) -> str:
    """Every number in a fairness table with the same three decimals ("–" when undefined)."""
    return "–" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _span(low: float | None, high: float | None) -> str:
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{low:.3f} to {high:.3f}"


def group_frame(report: FairnessReport, metrics: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "accuracy",
                                                                      "precision", "roc_auc")) -> pd.DataFrame:
    """One row per group: size, rank, each metric with its 95% interval, and the not-enough-data reason; columns
    in plain words (:mod:`core.labels`), every number with three decimals."""
    rows = []
    for g in report.groups:
        row = {"Group": g.group, "Rows": f"{g.count:,}", "Actual positives": f"{g.positives:,}",
               "Rank": str(g.rank) if g.rank is not None else "not ranked"}
        for name in metrics:
            low, high = g.intervals.get(name, (math.nan, math.nan))
            row[metric_label(name)] = _three(g.metrics.get(name, math.nan))
            row[f"{metric_label(name)}: 95% interval"] = _span(low, high)
        row[metric_label("base_rate")] = _three(g.metrics.get("base_rate", math.nan))
        row[metric_label("mean_score")] = _three(g.metrics.get("mean_score", math.nan))  # compare with base rate
        row["Note"] = g.reason or "–"
        rows.append(row)
    return pd.DataFrame(rows)


def disparity_frame(report: FairnessReport) -> pd.DataFrame:
    """One row per disparity with its interval, the two groups that define it and any group left out."""
    rows = []
    for key, d in report.disparities.items():
        rows.append({"Disparity": disparity_label(key), "Value": _three(d.value), "95% interval": _span(d.low, d.high),
                     "Between": " and ".join(d.groups) if d.groups else "–",
                     "Left out (not enough data)": ", ".join(d.excluded) or "–"})
    return pd.DataFrame(rows)


CONTRACT_DISPARITIES = ("demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference",
                        "demographic_parity_ratio", "accuracy_difference")


def _group_row(group: Any) -> dict[str, Any]:
    m = group.metrics
    return {"group": group.group, "count": group.count, "selection_rate": m["selection_rate"], "tpr": m["tpr"],
            "fpr": m["fpr"], "accuracy": m["accuracy"], "small": group.small, "reason": group.reason,
            "rank": group.rank, "base_rate": m["base_rate"], "precision": m["precision"], "roc_auc": m["roc_auc"],
            "intervals": {k: list(v) for k, v in group.intervals.items()}}


def slicing_payload(report: FairnessReport) -> dict[str, Any]:
    """The ``fairness --json`` contract for one slicing (the CLI prints it, the report reads it)."""
    return {"slicing": report.slicing, "rows": report.rows, "resamples": report.resamples,
            "groups": [_group_row(g) for g in report.groups],
            "disparities": {k: {"value": d.value, "ci": [d.low, d.high], "groups": list(d.groups),
                                "excluded": list(d.excluded)}
                            for k, d in report.disparities.items() if k in CONTRACT_DISPARITIES},
            "four_fifths": report.four_fifths, "comparisons": vars(report.comparisons).copy(),
            "summary": summarise(report)}


def worst_class_frame(worst: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """:func:`core.fairness.worst_classes` as a table: one row per slicing and disparity, the class with the largest
    gap (lowest, for the ratio), the gap and its 95% interval."""
    rows = [{"slicing": slicing, "disparity": disparity_label(name), "worst class": item["class"],
             "value": item["value"], "95% low": item["ci"][0], "95% high": item["ci"][1]}
            for slicing, gaps in worst.items() for name, item in gaps.items()]
    return pd.DataFrame(rows, columns=["slicing", "disparity", "worst class", "value", "95% low", "95% high"])
