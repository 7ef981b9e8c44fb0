"""Training callbacks. ``EarlyStopping``: stop when a validation metric stops improving,
and go back to the weights of the best epoch.

Works with any model that has ``state_dict()`` and ``load_state_dict()``: a ``dlbook.nn``
module or a ``torch.nn.Module``.
"""
from __future__ import annotations

import copy
import math
from typing import Any


class EarlyStopping:
    """Stop training after ``patience`` epochs in a row without improvement of a value.

    Call :meth:`step` once per epoch with the validation value (a loss with
    ``mode="min"``, an accuracy with ``mode="max"``) and the model; it returns True when
    training should stop. An epoch improves when its value beats the best so far by more
    than ``min_delta``; then a copy of the model's ``state_dict()`` is kept. When the
    patience runs out and ``restore_best`` is set, the model gets that copy back, so the
    returned model is the one of the best epoch, not of the last.

    This is the rule of Prechelt (1998) and of Keras' ``EarlyStopping`` (``patience``,
    ``min_delta``, ``mode``, ``restore_best_weights``).

    Attributes:
        best: the best value seen (``inf`` / ``-inf`` before the first step).
        best_epoch: the epoch of ``best``, counting :meth:`step` calls from 0 (-1 before).
        num_bad_epochs: epochs since the last improvement.
        stopped_epoch: the epoch at which :meth:`step` returned True (None while running).
        best_state: the copied ``state_dict`` of the best epoch (None if no model passed).
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, mode: str = "min",
                 restore_best: bool = True) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError(f"patience ({patience}) and min_delta ({min_delta}) must be >= 0")
        self.patience, self.min_delta, self.mode = int(patience), float(min_delta), mode
        self.restore_best = restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.num_bad_epochs = 0
        self.stopped_epoch: int | None = None
        self.best_state: dict[str, Any] | None = None
        self._epoch = -1

    def improves(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by more than ``min_delta``."""
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    @property
    def should_stop(self) -> bool:
        return self.stopped_epoch is not None

    def step(self, value: float, model: Any = None) -> bool:
        """Record this epoch's ``value``; True when training should stop now."""
        value = float(value)
        if math.isnan(value):
            raise ValueError("EarlyStopping.step got NaN: the monitored value diverged")
        if self.should_stop:
            raise RuntimeError("EarlyStopping.step after it said stop; make a new one to "
                               "train again")
        self._epoch += 1
        if self.improves(value):
            self.best, self.best_epoch, self.num_bad_epochs = value, self._epoch, 0
            if model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.num_bad_epochs += 1
        if self.num_bad_epochs >= self.patience:
            self.stopped_epoch = self._epoch
            if self.restore_best and model is not None:
                self.restore(model)
            return True
        return False

    def restore(self, model: Any) -> None:
        """Load the best epoch's weights into ``model`` (e.g. after the last epoch)."""
        if self.best_state is None:
            raise RuntimeError("EarlyStopping.restore: no state saved; pass the model to step")
        model.load_state_dict(copy.deepcopy(self.best_state))
