"""Run the Bayesian search: build the tuner, train every trial with the course's callbacks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from hypermodels import get_hypermodel, space
from tuning.config import TuneConfig
from tuning.data import Split
from tuning.files import read_json, write_json_atomic

OBJECTIVE = kt.Objective("val_accuracy", direction="max")
TUNER_DIR = "tuner"
RECORD_FILE = "record.json"


class RecordingTuner(kt.BayesianOptimization):
    """BayesianOptimization that seeds each trial and records how its training went."""

    def __init__(
        self,
        *args,
        training_seed: int,
        after_trial: Callable[[RecordingTuner], None] | None = None,
        **kwargs,
    ):
        self.training_seed = training_seed
        self.after_trial = after_trial
        super().__init__(*args, **kwargs)

    def run_trial(self, trial: kt.engine.trial.Trial, *args, **kwargs) -> list:
        """Train the trial's model(s) and save epochs, best epoch, final lr and seconds."""
        # Seeding per trial, not once per process, makes a resumed search train each
        # remaining trial exactly as an uninterrupted one would.
        keras.utils.set_random_seed(self.training_seed + int(trial.trial_id))
        start = time.monotonic()
        histories = super().run_trial(trial, *args, **kwargs)
        record = training_record(histories[-1], seconds=time.monotonic() - start)
        write_json_atomic(self.record_path(trial.trial_id), record)
        return histories

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        """Save the oracle, call `after_trial`, then free the trial's graphs before the next."""
        super().on_trial_end(trial)
        if self.after_trial is not None:
            self.after_trial(self)
        keras.backend.clear_session()

    def record_path(self, trial_id: str) -> Path:
        """Where a trial's training record lives, beside KerasTuner's trial.json."""
        return Path(self.get_trial_dir(trial_id)) / RECORD_FILE

    def load_record(self, trial_id: str) -> dict:
        """A trial's training record, or an empty one if the trial never finished training."""
        return read_json(self.record_path(trial_id)) or {}

    def checkpoint_path(self, trial_id: str) -> Path:
        """The best-epoch weights KerasTuner saved for a trial."""
        return Path(self._get_checkpoint_fname(trial_id))


def training_record(history: keras.callbacks.History, seconds: float) -> dict:
    """Summarize one fit: epochs run, best epoch (1-based), final learning rate, seconds.

    With several executions per trial the record describes the last one.
    """
    val_accuracy = history.history.get(OBJECTIVE.name, [])
    lrs = history.history.get("learning_rate", [])
    return {
        "epochs": len(history.epoch),
        "best_epoch": int(np.argmax(val_accuracy)) + 1 if val_accuracy else None,
        "final_lr": float(lrs[-1]) if lrs else None,
        "seconds": round(seconds, 2),
    }


def make_tuner(
    config: TuneConfig, after_trial: Callable[[RecordingTuner], None] | None = None
) -> RecordingTuner:
    """Create the tuner, or reload its state from `<results_dir>/tuner/` unless overwriting."""
    return RecordingTuner(
        hypermodel=get_hypermodel(config.hypermodel, space=config.space),
        objective=OBJECTIVE,
        max_trials=config.max_trials,
        num_initial_points=config.initial_points,
        seed=config.seed,
        hyperparameters=space.search_space(config.pins, config.space, config.hypermodel),
        tune_new_entries=True,
        executions_per_trial=config.executions_per_trial,
        directory=str(config.results_dir),
        project_name=TUNER_DIR,
        overwrite=config.overwrite,
        training_seed=config.seed,
        after_trial=after_trial,
    )


def training_callbacks(config: TuneConfig) -> list[keras.callbacks.Callback]:
    """ReduceLROnPlateau and EarlyStopping on val_accuracy, as in the course experiment."""
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_accuracy",
            factor=config.lr_factor,
            patience=config.lr_patience,
            min_delta=config.lr_min_delta,
            min_lr=config.min_lr,
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy",
            patience=config.early_stop_patience,
            min_delta=config.early_stop_min_delta,
            restore_best_weights=True,
        ),
    ]


def run_search(tuner: RecordingTuner, config: TuneConfig, data: Split, verbose: int = 2) -> None:
    """Run (or resume) the search until `max_trials` trials have ended."""
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=config.max_epochs,
        callbacks=training_callbacks(config),
        verbose=verbose,
    )
