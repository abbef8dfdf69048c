"""What a running trial reports after each epoch: progress.json and one time-left line.

KerasTuner saves nothing of a trial until it ends, and its first estimate of the time left
comes only when a trial ends, which may be many minutes in. After every epoch a trial writes
how far it got (progress.json, read after an interrupt) and prints one line of fixed format:

    epoch 3/20 (id 2) | 12.4 s/epoch | trial left at most 0:03:31 | search left ~0:41:10

The trial's time is an upper bound: its epochs left at the pace so far, no more than the
time budget lets it train (its share, or the budget's end, ends it at that epoch's end), and
nothing once a callback stopped it; the stopping rules and EarlyStopping often end it sooner.
The search's is the trials still to run times the mean of those that ended, or
their epoch limit while none has, capped by what is left of a time budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras

from tuning.engine.budget import Budget
from tuning.store.files import write_json_atomic

PROGRESS_FILE = "progress.json"  # epochs the running trial has finished
LINE = "epoch {epoch}/{epochs} (id {trial_id}) | {pace:.1f} s/epoch | trial left at most {trial}"


def clock(seconds: float) -> str:
    """Seconds as H:MM:SS, hours unbounded."""
    minutes, secs = divmod(round(max(seconds, 0.0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


@dataclass(frozen=True)
class Outlook:
    """The rest of the search as a trial starts: what its time-left line builds on."""

    trial_id: str
    trials_after: int | None  # trials still to start after this one; None where unknown
    mean_trial_seconds: float | None  # of the trials ended so far; None before the first
    budget: Budget | None = None

    def search_left(self, trial_left: float, epoch_seconds: float, epochs: int) -> float | None:
        """Seconds until the search ends: this trial's and the later ones', within the budget."""
        if self.trials_after is None:
            return None
        per_trial = self.mean_trial_seconds or epoch_seconds * epochs
        left = trial_left + self.trials_after * per_trial
        if self.budget is not None:
            left = min(left, self.budget.left())
        return left


def epoch_line(
    outlook: Outlook,
    epoch: int,
    epochs: int,
    epoch_seconds: float,
    may_train: float | None = None,
) -> str:
    """The time-left line after `epoch` (1-based) of `epochs`, each `epoch_seconds` long.

    `may_train`: the seconds the trial may still train (a time budget's), if limited; the
    budget ends it at the end of the epoch in which they run out.
    """
    epochs_left = epochs - epoch
    if may_train is not None:
        epochs_left = min(epochs_left, max(math.ceil(may_train / epoch_seconds), 0))
    trial_left = epoch_seconds * epochs_left
    line = LINE.format(
        epoch=epoch,
        epochs=epochs,
        trial_id=outlook.trial_id,
        pace=epoch_seconds,
        trial=clock(trial_left),
    )
    search_left = outlook.search_left(trial_left, epoch_seconds, epochs)
    return line if search_left is None else f"{line} | search left ~{clock(search_left)}"


class EpochProgress(keras.callbacks.Callback):
    """Keep `<trial dir>/progress.json` at the epochs finished and print the time-left line.

    With several executions per trial, each fit starts its count afresh.
    """

    def __init__(self, path: Path, outlook: Outlook, may_train: Callable[[], float] | None = None):
        super().__init__()
        self.path = path
        self.outlook = outlook
        self.may_train = may_train  # seconds the time budget still lets the trial train
        self.started = time.monotonic()
        self.first: int | None = None  # a resumed trial's fit starts at its `initial_epoch`
        self.line: str | None = None  # the last epoch's, until Keras has shown that epoch

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Start at 0: a trial run again must not show its last run's epochs."""
        write_json_atomic(self.path, {"epochs": 0})
        self.started = time.monotonic()
        self.first = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Record one more finished epoch and work out how long the rest should take."""
        write_json_atomic(self.path, {"epochs": epoch + 1})
        pace = (time.monotonic() - self.started) / (epoch + 1 - (self.first or 0))
        # The callbacks before this one have decided: EarlyStopping, a rule, the budget.
        if self.model.stop_training:
            may_train = 0.0
        else:
            may_train = self.may_train() if self.may_train else None
        self.line = epoch_line(self.outlook, epoch + 1, self.params["epochs"], pace, may_train)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Print the last epoch's line: after Keras's own line for it, which comes last."""
        if self.first is None:
            self.first = epoch
        self.show()

    def on_train_end(self, logs: dict | None = None) -> None:
        """Print the last epoch's line."""
        self.show()

    def show(self) -> None:
        """Print the pending line at once: a trial process's stdout is a pipe Python buffers."""
        if self.line is not None:
            print(self.line, flush=True)
            self.line = None
