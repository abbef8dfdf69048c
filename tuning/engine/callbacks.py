"""The Keras callbacks of every trial: the course's, the tuner's, and a lost interrupt's."""

from __future__ import annotations

import time

import keras

from tuning import interrupts
from tuning.config import TuneConfig
from tuning.engine import tensorboard
from tuning.objective import Objective


def training_callbacks(config: TuneConfig, goal: Objective) -> list[keras.callbacks.Callback]:
    """ReduceLROnPlateau and EarlyStopping on the objective (the course's: val_accuracy).

    And TerminateOnNaN; with `config.tensorboard`, TensorBoard, which KerasTuner sets up per
    trial.
    """
    logs = [tensorboard.callback(config.results_dir)] if config.tensorboard else []
    return [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ReduceLROnPlateau(
            monitor=goal.name,
            mode=goal.direction,
            factor=config.lr_factor,
            patience=config.lr_patience,
            min_delta=config.lr_min_delta,
            min_lr=config.min_lr,
        ),
        keras.callbacks.EarlyStopping(
            monitor=goal.name,
            mode=goal.direction,
            patience=config.early_stop_patience,
            min_delta=config.early_stop_min_delta,
            restore_best_weights=True,
        ),
        *logs,
    ]


class FirstBatchClock(keras.callbacks.Callback):
    """When the first training batch began: what a trial costs before it trains."""

    def __init__(self):
        super().__init__()
        self.at: float | None = None

    def __deepcopy__(self, memo: dict) -> FirstBatchClock:
        # KerasTuner deep-copies a trial's callbacks; the tuner reads this one back.
        return self

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Note the time of the first batch only."""
        if self.at is None:
            self.at = time.time()

    def seconds_since(self, start: float) -> float | None:
        """Seconds from `start` (Unix seconds) to the first batch; None if none ran."""
        return None if self.at is None else round(self.at - start, 2)


class TrainedModel(keras.callbacks.Callback):
    """Hands the tuner the model KerasTuner trained, so its process can score it on test."""

    def __init__(self):
        super().__init__()
        self.trained: keras.Model | None = None

    def __deepcopy__(self, memo: dict) -> TrainedModel:
        # KerasTuner deep-copies a trial's callbacks; the tuner reads this one back.
        return self

    def on_train_end(self, logs: dict | None = None) -> None:
        """Keep the model that just trained."""
        self.trained = self.model


class PendingInterrupt(keras.callbacks.Callback):
    """Raises a Ctrl-C or SIGTERM noted but lost where it struck (`tuning.interrupts`)."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Raise the noted interrupt, if any, after this batch."""
        interrupts.raise_pending()
