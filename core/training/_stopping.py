"""Early stopping, shared by the plain training loop and the DP-SGD loop."""

from __future__ import annotations

import math

from torch import Tensor, nn


class EarlyStopping:
    """Best-epoch bookkeeping shared by the plain and the DP-SGD loops: remember the weights of the epoch with the
    lowest validation loss, stop after ``patience`` epochs without improvement, and restore the best weights at the
    end (patience 0: no stopping, the last epoch's weights are kept)."""

    def __init__(self, patience: int, epochs: int) -> None:
        self.patience, self.epochs = patience, epochs
        self.best_loss, self.best_epoch, self.waited = math.inf, 0, 0
        self.best_state: dict[str, Tensor] | None = None
        self.stopped_early = False

    def should_stop(self, model: nn.Module, epoch: int, val_loss: float) -> bool:
        """Record this epoch's validation loss; True when training should stop now."""
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.waited = val_loss, epoch, 0
            if self.patience > 0:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.waited += 1
        if 0 < self.patience <= self.waited:
            self.stopped_early = epoch < self.epochs
            return True
        return False

    def finish(self, model: nn.Module, epochs_run: int) -> int:
        """Load the best weights (when early stopping is on) and return the epoch whose weights the model has."""
        if self.patience > 0 and self.best_state is not None:
            model.load_state_dict(self.best_state)
            return self.best_epoch
        return epochs_run
