"""The median-stopping rule: end a trial early once it trails the finished trials' median."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import keras

# Fewer finished trials than this make too noisy a median to stop anyone on.
MIN_REFERENCE_TRIALS = 3


@dataclass(frozen=True)
class MedianRule:
    """Stop a trial whose best val_accuracy by epoch k trails the reference trials' median.

    The rule applies at every epoch k after `grace_epochs`. A reference trial that ended
    before epoch k (EarlyStopping) counts with its best score: it had stopped improving.
    This is the median-stopping rule of Google Vizier (Golovin et al., 2017) on best-so-far
    curves.
    """

    reference: tuple[tuple[float, ...], ...]  # val_accuracy per epoch of each finished trial
    grace_epochs: int

    def median_at(self, epoch: int) -> float | None:
        """The reference trials' median best-so-far val_accuracy at 1-based `epoch`."""
        if len(self.reference) < MIN_REFERENCE_TRIALS:
            return None
        return statistics.median(max(curve[:epoch]) for curve in self.reference if curve)

    def stop_epoch(self, curve: Sequence[float]) -> tuple[int, float, float] | None:
        """The first epoch at which `curve` trails the median: (epoch, its best, the median)."""
        best = -float("inf")
        for epoch, value in enumerate(curve, start=1):
            best = max(best, value)
            median = self.median_at(epoch) if epoch > self.grace_epochs else None
            if median is not None and best < median:
                return epoch, best, median
        return None

    def describe(self, curve: Sequence[float]) -> str | None:
        """Why `curve` was stopped early (for trials.csv), or None if the rule let it run."""
        stop = self.stop_epoch(curve)
        if stop is None:
            return None
        epoch, best, median = stop
        return (
            f"stopped early after epoch {epoch}: best val_accuracy {best:.4f} below the median "
            f"{median:.4f} of {len(self.reference)} finished trials"
        )


class MedianStopping(keras.callbacks.Callback):
    """Apply a `MedianRule` at the end of every epoch of `fit`."""

    def __init__(self, rule: MedianRule, monitor: str = "val_accuracy"):
        super().__init__()
        self.rule = rule
        self.monitor = monitor
        self.curve: list[float] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Start a new curve: a callback may serve several executions."""
        self.curve = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Stop training once the curve so far trails the median."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        self.curve.append(float(value))
        stop = self.rule.stop_epoch(self.curve)
        if stop is not None and stop[0] == len(self.curve):
            self.model.stop_training = True
