"""Accountant reference values, agreement with dp-accounting, monotonicity, the no-overshoot search, fallback."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dp import (
    _accountant,
    compute_epsilon,
    default_delta,
    epsilon_grid,
    epsilon_over_epochs,
    find_noise_multiplier,
    rdp_epsilon,
    sample_rate,
    steps_per_epoch,
)
from core.errors import ConfigError


def test_opacus_rdp_reference_value():
    result = compute_epsilon(noise_multiplier=1.5, sample_rate=0.04, steps=2250, delta=1e-5, accountant="rdp")
    assert result.epsilon == pytest.approx(7.32911117143, abs=1e-9)
    assert result.accountant == "rdp" and result.note is None


def test_rdp_agrees_with_dp_accounting_on_the_same_orders():
    dp_accounting = pytest.importorskip("dp_accounting")
    orders = [float(o) for o in [*list(range(2, 64)), 128, 256]]
    accountant = dp_accounting.rdp.RdpAccountant(orders)
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(0.04, dp_accounting.GaussianDpEvent(1.5)), 2250)
    theirs = accountant.compose(event).get_epsilon(1e-5)
    ours = rdp_epsilon(1.5, 0.04, 2250, 1e-5, orders=orders)
    assert theirs == pytest.approx(7.32987677383, abs=1e-9)
    assert ours == pytest.approx(theirs, abs=1e-8)


def test_prv_default_is_tighter_and_matches_reference():
    result = compute_epsilon(noise_multiplier=1.5, sample_rate=0.04, steps=2250, delta=1e-5)
    assert result.accountant == "prv" and result.requested == "prv"
    assert result.epsilon == pytest.approx(6.779, abs=0.01)


def test_prv_failure_falls_back_to_rdp(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("Discrete mean differs from continuous mean")

    monkeypatch.setattr(_accountant, "prv_epsilon", broken)
    _accountant._epsilon_cached.cache_clear()
    result = compute_epsilon(noise_multiplier=1.1, sample_rate=0.03, steps=700, delta=1e-5)
    _accountant._epsilon_cached.cache_clear()
    assert result.accountant == "rdp" and result.requested == "prv"
    assert "PRV accountant failed" in result.note
    assert result.epsilon == pytest.approx(rdp_epsilon(1.1, 0.03, 700, 1e-5))


def test_prv_non_finite_result_falls_back(monkeypatch):
    monkeypatch.setattr(_accountant, "prv_epsilon", lambda *a, **k: math.inf)
    _accountant._epsilon_cached.cache_clear()
    result = compute_epsilon(noise_multiplier=1.2, sample_rate=0.03, steps=700, delta=1e-5)
    _accountant._epsilon_cached.cache_clear()
    assert result.accountant == "rdp" and "returned inf" in result.note


def test_large_epsilon_skips_prv_and_says_so():
    # PRV returns inf here after seconds of work (opacus issues 601/604); RDP says about 2,300
    result = compute_epsilon(noise_multiplier=0.05, sample_rate=1.0, steps=10, delta=1e-5)
    assert result.accountant == "rdp" and "unreliable" in result.note
    assert math.isfinite(result.epsilon) and result.epsilon > 100


def test_zero_steps_spend_nothing():
    assert compute_epsilon(noise_multiplier=1.0, sample_rate=0.1, steps=0, delta=1e-5).epsilon == 0.0


FAST = list(_accountant.FAST_ORDERS)  # integer orders: the same code path, 10x quicker per call


def _eps(noise, rate, steps):
    return rdp_epsilon(noise, rate, steps, 1e-5, orders=FAST)


@settings(max_examples=12, deadline=None)
@given(noise=st.floats(0.6, 5.0), rate=st.floats(0.001, 0.5), steps=st.integers(1, 2000),
       more=st.integers(1, 2000))
def test_epsilon_grows_with_steps(noise, rate, steps, more):
    assert _eps(noise, rate, steps + more) >= _eps(noise, rate, steps) - 1e-12


@settings(max_examples=12, deadline=None)
@given(noise=st.floats(0.6, 5.0), rate=st.floats(0.001, 0.4), factor=st.floats(1.01, 2.0),
       steps=st.integers(1, 2000))
def test_epsilon_grows_with_rate_and_falls_with_noise(noise, rate, factor, steps):
    base = _eps(noise, rate, steps)
    assert _eps(noise, min(1.0, rate * factor), steps) >= base - 1e-12
    assert _eps(noise * factor, rate, steps) <= base + 1e-12


@settings(max_examples=8, deadline=None)
@given(target=st.floats(0.3, 20.0), rate=st.floats(0.005, 0.2), steps=st.integers(10, 3000))
def test_rdp_noise_search_never_overshoots(target, rate, steps):
    found = find_noise_multiplier(target_epsilon=target, sample_rate=rate, steps=steps, delta=1e-5,
                                  accountant="rdp")
    assert found.epsilon <= target
    assert rdp_epsilon(found.noise_multiplier, rate, steps, 1e-5) <= target
    assert found.epsilon >= target * 0.99 or found.noise_multiplier < 1e-3 + 1e-6


def test_prv_noise_search_never_overshoots_and_is_cached():
    found = find_noise_multiplier(target_epsilon=1.0, sample_rate=1024 / 22792, steps=23 * 10, delta=1e-5)
    assert found.accountant == "prv"
    check = compute_epsilon(noise_multiplier=found.noise_multiplier, sample_rate=1024 / 22792, steps=230,
                            delta=1e-5)
    assert check.epsilon <= 1.0 and found.epsilon == pytest.approx(check.epsilon)
    assert found.epsilon >= 0.99
    again = find_noise_multiplier(target_epsilon=1.0, sample_rate=1024 / 22792, steps=23 * 10, delta=1e-5)
    assert again is found


def test_impossible_budget_is_a_clear_error():
    with pytest.raises(ConfigError, match="no noise multiplier"):
        find_noise_multiplier(target_epsilon=1e-4, sample_rate=1.0, steps=10**6, delta=1e-12, accountant="rdp")


def test_epsilon_over_epochs_and_grid_agree():
    curve = epsilon_over_epochs(noise_multiplier=1.0, sample_rate=0.05, steps_per_epoch=20, epochs=3, delta=1e-5,
                                accountant="rdp")
    grid = epsilon_grid(noise_multipliers=[1.0, 2.0], epochs=[1, 2, 3], sample_rate=0.05, steps_per_epoch=20,
                        delta=1e-5)
    assert grid.shape == (2, 3)
    assert [r.epsilon for r in curve] == pytest.approx(list(grid[0]), rel=0.05)  # grid: integer orders
    assert all(g >= r.epsilon - 1e-12 for g, r in zip(grid[0], curve, strict=True))  # fewer orders: looser
    assert (grid[1] < grid[0]).all() and (grid[:, 1:] > grid[:, :-1]).all()


def test_helpers():
    assert default_delta(22792) == 1e-5 and default_delta(100) == 1e-5
    assert default_delta(200_000) == 1e-6 and default_delta(100_000) == 1e-6
    for n in (7, 999, 10**6, 4_885):
        assert default_delta(n) < 1 / n
    assert steps_per_epoch(22792, 1024) == 23 and sample_rate(22792, 1024) == pytest.approx(1024 / 22792)
    assert sample_rate(10, 100) == 1.0


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"noise_multiplier": 0.0}, "noise_multiplier must be above 0"),
    ({"sample_rate": 1.5}, "sampling rate must be above 0 and at most 1"),
    ({"delta": 1.0}, "delta must be above 0 and below 1"),
    ({"accountant": "gdp"}, "accountant must be one of prv, rdp"),
])
def test_bad_inputs(kwargs, pattern):
    args = {"noise_multiplier": 1.0, "sample_rate": 0.1, "steps": 10, "delta": 1e-5, "accountant": "rdp"} | kwargs
    with pytest.raises(ConfigError, match=pattern):
        compute_epsilon(**args)
