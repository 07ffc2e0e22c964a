"""Plotly figures for SHAP explanations: an :class:`core.explain.Attributions` in, ``go.Figure`` out, no computation
beyond picking and ordering what to draw.

Every view speaks in the user's original column names (escaped: they are user text), says in its subtitle how
many rows and which background the numbers come from, and stays readable with 50+ features: the ``top_k`` most
important are drawn and the rest are folded into one "N other features" entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.figures._text import plot_text, wrap_lines
from core.text import probability_text

TEMPLATE = "plotly_white"
PUSH_UP = "#d62728"  # towards the positive class
PUSH_DOWN = "#1f77b4"
BAR = "#4c78a8"
OTHER = "#9e9e9e"
GROUP_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")
NO_ROWS_NOTE = "No rows were explained."


def _layout(fig: go.Figure, title: str, subtitle: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    height = extra.pop("height", None)
    fig.update_layout(title={"text": title, "subtitle": {"text": wrap_lines(subtitle, 90)}}, xaxis_title=x_title,
                      yaxis_title=y_title, template=TEMPLATE, margin={"t": 110, "l": 10, "r": 10, "b": 60}, **extra)
    if height:
        fig.update_layout(height=height)
    return fig


def _provenance(result: Any) -> str:
    kind = "k-means centres of training rows" if getattr(result, "summary", "sample") == "kmeans" else "training rows"
    return (f"{result.n_rows:,} rows explained against a background of {result.background:,} {kind} "
            f"(seed {result.seed}).")


def _top(result: Any, top_k: int) -> tuple[list[int], list[int]]:
    """Feature positions of the ``top_k`` largest mean |SHAP|, and of the rest."""
    order = np.argsort(-result.mean_abs(), kind="stable").tolist()
    return order[:top_k], order[top_k:]


def _height(bars: int) -> int:
    return max(320, 140 + 26 * bars)


def importance_figure(result: Any, *, top_k: int = 15) -> go.Figure:
    """Mean |SHAP| per feature, largest on top, each labelled with its rank interval over background draws."""
    mean_abs = result.mean_abs()
    top, rest = _top(result, top_k)
    labels = [plot_text(result.feature_names[j]) for j in top]
    values = [float(mean_abs[j]) for j in top]
    ranks = []
    for position, j in enumerate(top, start=1):
        low, high = result.rank_intervals.get(result.feature_names[j], (position, position))
        ranks.append(f"rank {low}" if low == high else f"rank {low}-{high}")
    colors = [BAR] * len(top)
    if rest:
        labels.append(f"{len(rest)} other features")
        values.append(float(mean_abs[rest].sum()))
        ranks.append("summed")
        colors.append(OTHER)
    fig = go.Figure(go.Bar(x=values[::-1], y=labels[::-1], orientation="h", marker={"color": colors[::-1]},
                           text=ranks[::-1], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: mean |SHAP| %{x:.3f} (%{text})<extra></extra>"))
    if values and max(values) > 0:
        fig.update_xaxes(range=[0, max(values) * 1.18])  # room for the rank labels beside the longest bar
    if result.n_rows == 0:
        fig.add_annotation(text=NO_ROWS_NOTE, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    stability = (f"Rank ranges over {result.draws} background draws: a range like 2-4 means the order is not "
                 "settled." if result.draws > 1 else "One background draw: no stability range.")
    return _layout(fig, "Which features move the score most", f"Average size of each feature's push on the "
                   f"{result.output}. {stability} {_provenance(result)}", "Mean |SHAP value| (log-odds)",
                   "Feature", height=_height(len(labels)), showlegend=False)


def _color_values(column: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numbers to colour by: the value itself, or a category's code (with the category names for the legend)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=np.float64), None
    codes, uniques = pd.factorize(column.astype("object").where(column.notna(), "(missing)"), sort=True)
    return codes.astype(np.float64), [str(u) for u in uniques]


def _normalise(values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    if not finite.any():
        return np.full(values.shape, 0.5)
    low, high = np.nanpercentile(values[finite], [5, 95])
    if high <= low:
        return np.where(finite, 0.5, np.nan)
    return np.clip((values - low) / (high - low), 0, 1)


def beeswarm_figure(result: Any, *, top_k: int = 12, max_points: int = 2000, seed: int = 0) -> go.Figure:
    """One dot per row and feature: position = SHAP value, colour = the feature's value (low blue, high red)."""
    top, rest = _top(result, top_k)
    rng = np.random.default_rng(seed)
    n = result.n_rows
    shown = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    fig = go.Figure()
    for level, j in enumerate(reversed(top)):
        column = result.data.iloc[shown, j]
        colour, _ = _color_values(column)
        jitter = rng.uniform(-0.3, 0.3, size=len(shown))
        name = plot_text(result.feature_names[j])
        fig.add_trace(go.Scattergl(
            x=result.values[shown, j], y=level + jitter, mode="markers", name=name, showlegend=False,
            marker={"size": 4, "color": _normalise(colour), "colorscale": "RdBu_r", "cmin": 0, "cmax": 1,
                    "showscale": level == 0, "colorbar": {"title": "feature value", "tickvals": [0, 1],
                                                          "ticktext": ["low", "high"]}},
            text=[plot_text(v) for v in column.tolist()],
            hovertemplate=f"{name} = %{{text}}<br>SHAP %{{x:.3f}}<extra></extra>"))
    labels = [plot_text(result.feature_names[j]) for j in reversed(top)]
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(top))), ticktext=labels)
    fig.add_vline(x=0, line={"color": OTHER, "width": 1})
    hidden = f" {len(rest)} less important features not shown." if rest else ""
    sample = f" Showing {len(shown):,} of {n:,} rows." if len(shown) < n else ""
    return _layout(fig, "How each feature pushes individual rows", "Right of 0 pushes towards the positive class, "
                   f"left away from it; colour is the feature's own value.{hidden}{sample} {_provenance(result)}",
                   "SHAP value (log-odds)", "Feature", height=_height(len(top)))


def dependence_figure(result: Any, feature: str, *, color_by: str | None = None, max_points: int = 3000,
                      seed: int = 0) -> go.Figure:
    """A feature's value against its SHAP value, coloured by a second feature (to spot interactions)."""
    names = list(result.feature_names)
    j = names.index(feature)
    n = result.n_rows
    rng = np.random.default_rng(seed)
    shown = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    x = result.data.iloc[shown, j]
    numeric_x = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    x_values = x.to_numpy() if numeric_x else [plot_text(v) for v in x.astype("object").fillna("(missing)")]
    marker: dict[str, Any] = {"size": 5, "color": BAR}
    subtitle_colour = ""
    if color_by is not None and color_by != feature:
        k = names.index(color_by)
        colour, categories = _color_values(result.data.iloc[shown, k])
        marker = {"size": 5, "color": colour, "colorscale": "Viridis",
                  "colorbar": {"title": plot_text(color_by)}}
        if categories is not None:
            marker["colorbar"] |= {"tickvals": list(range(len(categories))),
                                   "ticktext": [plot_text(c) for c in categories]}
        subtitle_colour = f" Colour: {plot_text(color_by)}."
    fig = go.Figure(go.Scattergl(x=x_values, y=result.values[shown, j], mode="markers", marker=marker,
                                 hovertemplate="value %{x}<br>SHAP %{y:.3f}<extra></extra>"))
    fig.add_hline(y=0, line={"color": OTHER, "width": 1})
    sample = f" Showing {len(shown):,} of {n:,} rows." if len(shown) < n else ""
    label = plot_text(feature)
    return _layout(fig, f"How {label} moves the score", f"Each dot is a row: above 0 the value pushes towards the "
                   f"positive class.{subtitle_colour}{sample} {_provenance(result)}", f"{label} (original units)",
                   f"SHAP value of {label} (log-odds)")


def waterfall_data(values: Sequence[float], names: Sequence[str], shown_values: Sequence[Any], *, base_value: float,
                   top_k: int = 10) -> pd.DataFrame:
    """Steps of a waterfall: the ``top_k`` largest pushes (by size), then the rest summed, in drawing order."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(-np.abs(values), kind="stable")
    top, rest = order[:top_k], order[top_k:]
    labels = [f"{plot_text(names[j])} = {plot_text(_short(shown_values[j]))}" for j in top]
    steps = [float(values[j]) for j in top]
    if len(rest):
        labels.append(f"{len(rest)} other features")
        steps.append(float(values[rest].sum()))
    return pd.DataFrame({"label": labels, "shap": steps})


def _short(value: Any) -> str:
    """A feature value as a person writes it: 267,200 (never 2.672e+05), 0.1234, 13."""
    if isinstance(value, float | np.floating | int | np.integer) and not isinstance(value, bool):
        number = float(value)
        if not np.isfinite(number):
            return "missing"
        if number == round(number) and abs(number) < 1e15:
            return f"{round(number):,}"
        return f"{number:,.2f}" if abs(number) >= 100 else f"{number:.4g}"
    return "missing" if value is None else str(value)


def waterfall_figure(result: Any, position: int, *, top_k: int = 10, values: Sequence[float] | None = None,
                     shown_values: Sequence[Any] | None = None, threshold_logit: float | None = None,
                     probability: float | None = None, base_value: float | None = None) -> go.Figure:
    """From the base value (the average score) to this row's score, one step per feature.

    ``values`` / ``shown_values`` / ``base_value`` override the stored row (the what-if editor draws an edited row,
    explained against its own background, this way).
    """
    base = result.base_value if base_value is None else float(base_value)
    row_values = result.values[position] if values is None else np.asarray(values, dtype=np.float64)
    row_data = result.data.iloc[position].tolist() if shown_values is None else list(shown_values)
    steps = waterfall_data(row_values, result.feature_names, row_data, base_value=base, top_k=top_k)
    score = base + float(row_values.sum())
    fig = go.Figure(go.Waterfall(  # bars start at the base value: the base is where the row starts, not a push
        orientation="h", base=base, measure=["relative"] * len(steps), y=steps["label"].tolist(),
        x=steps["shap"].tolist(), increasing={"marker": {"color": PUSH_UP}},
        decreasing={"marker": {"color": PUSH_DOWN}}, connector={"line": {"color": "#bbbbbb"}},
        hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.add_vline(x=base, line={"color": OTHER, "width": 2}, annotation_text=f"average score {base:+.2f}",
                  annotation_position="top left")
    fig.add_vline(x=score, line={"color": "#111", "width": 2}, annotation_text=f"this row {score:+.2f}",
                  annotation_position="bottom right")
    if threshold_logit is not None:
        fig.add_vline(x=threshold_logit, line={"color": "#333", "dash": "dash"}, annotation_text="decision threshold",
                      annotation_position="top right")
    if probability is None and values is None:
        probability = float(result.probabilities[position])
    chance = f", a probability of {probability_text(probability)}" if probability is not None else ""
    return _layout(fig, "Why this row got its score", "Starts at the average score over the background (grey line) "
                   "and adds each feature's push: red bars push the score right (towards the positive class), "
                   f"blue bars push it left. This row ends at {score:+.2f}{chance} (black line).",
                   f"Score ({result.output})", "",
                   height=_height(len(steps)), showlegend=False)


def group_importance_data(result: Any, groups: Sequence[Any], *, top_k: int = 10) -> pd.DataFrame:
    """Mean |SHAP| per feature within each group of explained rows (long form: group, n, feature, mean_abs_shap)."""
    labels = pd.Series(list(groups), dtype="object").where(pd.Series(list(groups)).notna(), "(missing)").astype(str)
    if len(labels) != result.n_rows:
        raise ValueError(f"need one group label per explained row ({result.n_rows}); got {len(labels)}")
    top, _ = _top(result, top_k)
    records = []
    for group in sorted(labels.unique()):
        mask = (labels == group).to_numpy()
        mean_abs = np.abs(result.values[mask]).mean(axis=0)
        for j in top:
            records.append({"group": group, "n": int(mask.sum()), "feature": result.feature_names[j],
                            "mean_abs_shap": float(mean_abs[j])})
    return pd.DataFrame(records, columns=["group", "n", "feature", "mean_abs_shap"])


def group_importance_figure(result: Any, groups: Sequence[Any], *, group_name: str, top_k: int = 10,
                            min_size: int = 20) -> go.Figure:
    """Does the model lean on different features for different groups? One bar per group and feature."""
    data = group_importance_data(result, groups, top_k=top_k)
    fig = go.Figure()
    for i, (group, part) in enumerate(data.groupby("group", sort=True)):
        n = int(part["n"].iloc[0])
        small = " - too few rows to trust" if n < min_size else ""
        fig.add_trace(go.Bar(x=part["mean_abs_shap"][::-1], y=[plot_text(f) for f in part["feature"]][::-1],
                             orientation="h", name=f"{plot_text(group)} (n={n:,}){small}",
                             marker={"color": GROUP_COLORS[i % len(GROUP_COLORS)]},
                             hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    return _layout(fig, f"Feature importance by {plot_text(group_name)}", f"Mean |SHAP| within each group of "
                   f"{plot_text(group_name)}; bars of very different length mean the model relies on that feature "
                   f"differently across groups. Groups under {min_size} rows are marked. {_provenance(result)}",
                   "Mean |SHAP value| (log-odds)", "Feature", barmode="group",
                   height=_height(top_k * max(1, data["group"].nunique()) // 2 + 4),
                   legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0})
