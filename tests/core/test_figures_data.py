"""Data-page figures: bar data matches the counts, small groups are flagged, user text is escaped."""

from __future__ import annotations

import pandas as pd

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
