"""The step budget: small tables get enough optimiser steps, big tables and private runs keep their epochs."""

from __future__ import annotations

import math

from core.training.budget import plan_steps
from core.training.config import TrainConfig


def test_a_few_thousand_rows_get_at_least_min_steps() -> None:
    planned = plan_steps(TrainConfig(), 1_400)  # digits-sized training split
    per_epoch = math.ceil(1_400 / planned.batch_size)
    assert planned.batch_size == 175 and per_epoch == 8
    assert planned.epochs == 250 and planned.epochs * per_epoch >= 2_000
    assert planned.early_stopping_patience == 25  # patience spans 10% of the budget: 200 steps, not 24


def test_big_tables_keep_their_epochs_and_patience() -> None:
    planned = plan_steps(TrainConfig(), 100_000)  # 98 steps an epoch, 30 epochs = 2,940 steps
    assert (planned.batch_size, planned.epochs, planned.early_stopping_patience) == (1024, 30, 3)


def test_settings_are_only_raised() -> None:
    planned = plan_steps(TrainConfig(epochs=500, early_stopping_patience=40), 1_400)
    assert (planned.epochs, planned.early_stopping_patience) == (500, 40)
    assert plan_steps(TrainConfig(early_stopping_patience=0), 1_400).early_stopping_patience == 0
    assert plan_steps(TrainConfig(min_steps=0), 1_400).epochs == 30


def test_private_runs_and_the_exact_solver_keep_their_epochs() -> None:
    private = plan_steps(TrainConfig(target_epsilon=1.0, epochs=10), 1_400)
    assert (private.batch_size, private.epochs) == (175, 10)
    assert plan_steps(TrainConfig(model="logistic"), 1_400).epochs == 30
    assert plan_steps(TrainConfig(model="logistic", solver="minibatch"), 1_400).epochs == 250
