"""Data-page figures: bar data matches the counts, small groups are flagged, user text is escaped."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from core.figures._text import plot_text
from core.figures.data import OTHER_COLOR, POSITIVE_COLOR, SMALL_COLOR, class_balance_figure, group_sizes_figure


def test_class_balance_bars_and_highlight():
    fig = class_balance_figure(pd.Series({"<=50K": 75, ">50K": 25}), ">50K")
    bar = fig.data[0]
    assert list(bar.x) == ["&lt;=50K", "&gt;50K"]
    assert list(bar.y) == [75, 25]
    assert list(bar.marker.color) == [OTHER_COLOR, POSITIVE_COLOR]
    assert list(bar.text) == ["75 (75.0%)", "25 (25.0%)"]
    assert fig.layout.title.text == "Target classes (positive: &gt;50K)"


def test_group_sizes_flag_small_groups_and_escape_names():
    fig = group_sizes_figure({"<b>sex</b>": pd.Series({"F": 30, "M": 5})}, min_size=20)
    bar = fig.data[0]
    assert list(bar.y) == ["F", "M"] and list(bar.x) == [30, 5]
    assert list(bar.marker.color) == [OTHER_COLOR, SMALL_COLOR]
    assert list(bar.text) == ["30", "5 (small)"]
    assert fig.layout.annotations[0].text == "&lt;b&gt;sex&lt;/b&gt;"


def test_plot_text_escapes_markup_only():
    assert plot_text('<a href="javascript:x">y</a> & co') == '&lt;a href="javascript:x"&gt;y&lt;/a&gt; &amp; co'
    assert plot_text(3) == "3"


def test_group_panels_leave_room_for_titles_and_short_bars_label_outside():
    groups = {"sex": pd.Series({"F": 300, "M": 5}), "age": pd.Series({f"[{i}, {i + 10})": 40 + i for i in range(5)}),
              "race": pd.Series({f"r{i}": 100 for i in range(8)})}
    fig = group_sizes_figure(groups, min_size=20)
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    domains = [fig.layout[f"yaxis{'' if i == 1 else i}"].domain for i in (1, 2, 3)]
    for above, below in itertools.pairwise(domains):
        # the title of the lower panel sits just above its domain; the axis above needs ~20 px for tick labels
        assert (above[0] - below[1]) * plot_px >= 60
    # each panel is as tall as its bars need (26 px a bar + 40 px), so 8 groups are not squeezed into a third
    heights = [(d[1] - d[0]) * plot_px for d in domains]
    assert heights == pytest.approx([2 * 26 + 40, 5 * 26 + 40, 8 * 26 + 40])
    assert list(fig.data[0].textposition) == ["inside", "outside"]
    assert fig.data[0].cliponaxis is False
    cb = class_balance_figure(pd.Series({"no": 950, "yes": 50}), "yes")
    assert list(cb.data[0].textposition) == ["inside", "outside"]
