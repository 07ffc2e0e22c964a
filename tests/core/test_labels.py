"""core.labels: the one place that turns the engine's names into words a stakeholder reads."""

from __future__ import annotations

from core.fairness import DISPARITIES
from core.labels import DISPARITY_TERMS, disparity_label, disparity_phrase, metric_label, strategy_label
from core.report import DISPARITY_METRICS


def test_plain_words_then_the_term():
    assert disparity_label("demographic_parity_difference") == "Gap in share selected"
    assert disparity_phrase("demographic_parity_difference") == "Gap in share selected (demographic parity difference)"
    assert disparity_phrase("equalized_odds_difference") == "Gap in error rates (equalized odds)"  # term already named
    assert disparity_phrase("four_fifths") == "Four-fifths rule"  # no separate term
    assert metric_label("tpr") == "True positive rate (recall)"
    assert strategy_label("demographic_parity (deterministic)") == "Equal share selected per group (fixed thresholds)"


def test_unknown_names_become_words_never_identifiers():
    assert disparity_label("new_gap_metric") == "New gap metric"
    assert metric_label("some_rate") == "Some rate"


def test_every_computed_disparity_and_report_choice_has_words():
    assert tuple(DISPARITIES) == tuple(DISPARITY_TERMS)
    for name in DISPARITIES:
        assert "_" not in disparity_phrase(name)
    assert {name: disparity_phrase(name) for name in DISPARITY_METRICS} == DISPARITY_METRICS
