"""TensorBoard logs of every trial, with data for the HParams dashboard (`tune --tensorboard`).

KerasTuner does the work once a `keras.callbacks.TensorBoard` is among the search's callbacks:
each trial's copy logs to `<log dir>/<trial id>/execution<n>`, beside KerasTuner's HParams
callback with the trial's values (its `Tuner._configure_tensorboard_dir`).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import keras

LOG_DIR = "tensorboard"


def log_dir(results_dir: Path) -> Path:
    """Where a search's TensorBoard logs go: `tensorboard --logdir` this folder."""
    return Path(results_dir) / LOG_DIR


def callback(results_dir: Path) -> keras.callbacks.TensorBoard:
    """The TensorBoard callback KerasTuner copies for each trial."""
    return keras.callbacks.TensorBoard(log_dir=str(log_dir(results_dir)))


def clear_trial_logs(callbacks: Sequence[keras.callbacks.Callback], trial_id: str) -> None:
    """Delete what an interrupted run of this trial logged, so its rerun's curves stand alone."""
    for item in callbacks:
        if isinstance(item, keras.callbacks.TensorBoard):
            shutil.rmtree(Path(item.log_dir) / trial_id, ignore_errors=True)


def discard_logs(results_dir: Path) -> None:
    """Delete a search's logs, with the search itself (`--overwrite`)."""
    shutil.rmtree(log_dir(results_dir), ignore_errors=True)
