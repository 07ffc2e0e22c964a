"""The step budget of minibatch training: batch size, epochs and patience planned from the table's size.

Defaults are tuned for tables of tens of thousands of rows (batch 1024, 30 epochs, patience 3). On a table of a
few thousand rows those settings mean a handful of steps per epoch, and 30 epochs were measured to stop before
the model converged (digits, 1,797 rows: best epoch the last one). So the unit of training work is the optimiser
step, not the epoch: a run takes at least ``min_steps`` steps unless early stopping ends it, and early stopping
waits for a fixed share of that budget rather than for a fixed number of (possibly tiny) epochs.

Private runs keep their batch-size cap only: their epochs are the privacy budget the user chose.
"""

from __future__ import annotations

import dataclasses
import math

from core.training.config import TrainConfig

MIN_STEPS_PER_EPOCH = 8
MIN_BATCH = 16
PATIENCE_SHARE = 0.1  # early stopping waits at least this share of the step budget without a better val loss
MAX_EPOCHS = 10_000


def effective_batch_size(batch_size: int, n_train: int) -> int:
    """The batch size actually used: capped so every epoch takes at least 8 steps.

    On a 600-row table a batch of 1024 would make one optimiser step per epoch and leave the model untrained. The
    cap only ever lowers the batch, and the size used is stored with the run's metrics.
    """
    return max(1, min(batch_size, max(MIN_BATCH, n_train // MIN_STEPS_PER_EPOCH)))


def plan_steps(config: TrainConfig, n_train: int) -> TrainConfig:
    """``config`` with the batch size, epochs and patience a table of ``n_train`` rows actually trains with.

    The exact logistic solver (no minibatches) and private runs only get the batch cap; otherwise the epochs grow
    until ``epochs * steps_per_epoch >= min_steps`` and the patience (when on) until it spans at least
    :data:`PATIENCE_SHARE` of those steps. Settings are only ever raised, never lowered.
    """
    batch = effective_batch_size(config.batch_size, n_train)
    planned = dataclasses.replace(config, batch_size=batch)
    if config.private or config.uses_lbfgs or config.min_steps == 0:
        return planned
    per_epoch = math.ceil(n_train / batch)
    epochs = min(MAX_EPOCHS, max(config.epochs, math.ceil(config.min_steps / per_epoch)))
    patience = config.early_stopping_patience
    if patience > 0:
        patience = min(epochs, max(patience, math.ceil(PATIENCE_SHARE * config.min_steps / per_epoch)))
    return dataclasses.replace(planned, epochs=epochs, early_stopping_patience=patience)
