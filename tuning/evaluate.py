"""Restore the best trials from their checkpoints and score them on the test set."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from tuning.data import as_images, one_hot, sha256_file
from tuning.files import read_json, write_json_atomic
from tuning.search import RecordingTuner

EVALUATION_FILE = "evaluation.json"


def completed_trials(tuner: kt.Tuner) -> list[kt.engine.trial.Trial]:
    """Trials that finished with a score, ordered by trial id."""
    trials = tuner.oracle.trials.values()
    done = [t for t in trials if t.status == "COMPLETED" and t.score is not None]
    return sorted(done, key=lambda t: int(t.trial_id))


def best_trials(tuner: kt.Tuner, n: int) -> list[kt.engine.trial.Trial]:
    """The `n` completed trials with the highest val_accuracy; ties go to the earlier trial."""
    return sorted(completed_trials(tuner), key=lambda t: -t.score)[:n]


def evaluate_trial(
    tuner: RecordingTuner, trial: kt.engine.trial.Trial, x_test: np.ndarray, y_test: np.ndarray
) -> dict:
    """Test loss and accuracy of a trial's best checkpoint, cached beside the checkpoint.

    The cache is keyed by the checkpoint's and the test set's digests, so a `report` after
    the search costs no retraining and no re-evaluation, and can never reuse stale figures.
    """
    checkpoint = tuner.checkpoint_path(trial.trial_id)
    key = {"checkpoint_sha256": sha256_file(checkpoint), "test_sha256": test_digest(x_test)}
    cache_path = Path(tuner.get_trial_dir(trial.trial_id)) / EVALUATION_FILE
    cached = read_json(cache_path)
    if cached and all(cached.get(k) == v for k, v in key.items()):
        return cached
    with warnings.catch_warnings():
        # The checkpoint carries Adam's state, which evaluation does not need.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.load_model(trial)
    loss, accuracy = model.evaluate(as_images(x_test), one_hot(y_test), batch_size=512, verbose=0)
    keras.backend.clear_session()
    result = {**key, "test_loss": float(loss), "test_accuracy": float(accuracy)}
    write_json_atomic(cache_path, result)
    return result


def test_digest(x_test: np.ndarray) -> str:
    """A short digest of the test images, to tie cached evaluations to the data they used."""
    return hashlib.sha256(np.ascontiguousarray(x_test).tobytes()).hexdigest()[:16]


def evaluate_best(
    tuner: RecordingTuner, top_n: int, x_test: np.ndarray, y_test: np.ndarray
) -> list[tuple[kt.engine.trial.Trial, dict]]:
    """Evaluate the `top_n` best trials on the test set, best first."""
    return [(t, evaluate_trial(tuner, t, x_test, y_test)) for t in best_trials(tuner, top_n)]
