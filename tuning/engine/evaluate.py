"""Score trials' best checkpoints on the test set, cached beside each checkpoint.

A trial that may rank among the best is scored by the process that trained it, with the
model it already has (`score_model`), so the search's end rebuilds no model for it; any
other trial is restored from its checkpoint and scored at the end (`evaluate_trial`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from hypermodels.foreign import labels_for
from tuning.data import array_digest, as_images, one_hot
from tuning.engine.kt_internals import Tuner
from tuning.idx import sha256_file
from tuning.objective import Objective
from tuning.sources import Dataset
from tuning.store.files import read_json, write_json_atomic
from tuning.trialstate import ENDED, TrialState

EVALUATION_FILE = "evaluation.json"


@dataclass(frozen=True)
class TestSet:
    """The test images and one-hot labels, and the digest of the arrays they came from."""

    x: np.ndarray
    y: np.ndarray
    sha256: str

    __test__ = False  # a data class, not a test for pytest to collect


def test_set(dataset: Dataset) -> TestSet:
    """The test part of `dataset`, shaped as the models take it.

    Its digest is the arrays', not the files': the same images gzipped or not are one test
    set, and a cached evaluation holds for both.
    """
    digest = array_digest(dataset.x_test, dataset.y_test)
    y = one_hot(dataset.y_test, dataset.num_classes)
    return TestSet(as_images(dataset.x_test), y, digest)


def completed_trials(tuner: kt.Tuner) -> list[kt.engine.trial.Trial]:
    """Trials that finished with a score, ordered by trial id."""
    trials = tuner.oracle.trials.values()
    done = [t for t in trials if t.status == TrialState.COMPLETED and t.score is not None]
    return sorted(done, key=lambda t: int(t.trial_id))


def best_trials(tuner: kt.Tuner, n: int) -> list[kt.engine.trial.Trial]:
    """The `n` completed trials with the best score; ties go to the earlier trial."""
    sign = Objective(direction=tuner.oracle.objective.direction).sign
    return sorted(completed_trials(tuner), key=lambda t: -sign * t.score)[:n]


def evaluate_trial(tuner: Tuner, trial: kt.engine.trial.Trial, test: TestSet) -> dict:
    """Test loss and accuracy of a trial's best checkpoint, cached beside the checkpoint.

    The cache is keyed by the checkpoint's and the test files' digests, so a `report` after
    the search costs no retraining and no re-evaluation, and can never reuse stale figures.
    """
    checkpoint = tuner.checkpoint_path(trial.trial_id)
    cache_path = Path(tuner.get_trial_dir(trial.trial_id)) / EVALUATION_FILE
    cached = read_json(cache_path)
    key = evaluation_key(checkpoint, test)
    if cached and all(cached.get(k) == v for k, v in key.items()):
        return cached
    with warnings.catch_warnings():
        # The checkpoint carries Adam's state, which evaluation does not need.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.load_model(trial)
    result = score_model(model, checkpoint, test, cache_path)
    keras.backend.clear_session()
    return result


def evaluation_key(checkpoint: Path, test: TestSet) -> dict:
    """What a cached evaluation must match: the checkpoint's and the test files' digests."""
    return {"checkpoint_sha256": sha256_file(checkpoint), "test_sha256": test.sha256}


def score_model(model: keras.Model, checkpoint: Path, test: TestSet, cache_path: Path) -> dict:
    """Score `model`, which holds the weights saved in `checkpoint`, and cache the result."""
    result = {**evaluation_key(checkpoint, test), **test_scores(model, test)}
    write_json_atomic(cache_path, result)
    return result


def test_scores(model: keras.Model, test: TestSet) -> dict[str, float | None]:
    """Test loss and accuracy, read by name from the model's compiled metrics.

    A user's model may compile other metrics, or a sparse loss that takes class indices:
    its labels come in that form, and a model without an accuracy metric has none.
    """
    scores = model.evaluate(
        test.x, labels_for(model, test.y), batch_size=512, verbose=0, return_dict=True
    )
    accuracy = next((v for k, v in scores.items() if "acc" in k), None)
    return {
        "test_loss": float(scores["loss"]),
        "test_accuracy": None if accuracy is None else float(accuracy),
    }


def may_rank(tuner: Tuner, score: float, top_n: int, goal: Objective) -> bool:
    """Whether a trial just ended with `score` is among the `top_n` best so far.

    Ties go to the earlier trial, so it must beat the n-th best; once outside, it stays out.
    """
    scores = sorted((goal.sign * t.score for t in completed_trials(tuner)), reverse=True)
    return len(scores) < top_n or goal.sign * score > scores[top_n - 1]


def evaluate_best(
    tuner: Tuner, top_n: int, dataset: Dataset
) -> tuple[list[tuple[kt.engine.trial.Trial, dict]], list[str]]:
    """Evaluate the `top_n` best trials on the test set, best first.

    Returns:
        The evaluated trials with their results, and the ids of best trials whose weights
        were deleted (`--keep-checkpoints`) and so could not be evaluated.
    """
    test = test_set(dataset)
    best = best_trials(tuner, top_n)
    missing = [t.trial_id for t in best if not tuner.checkpoint_path(t.trial_id).exists()]
    evaluated = [(t, evaluate_trial(tuner, t, test)) for t in best if t.trial_id not in missing]
    return evaluated, missing


def prune_checkpoints(tuner: Tuner, keep: int) -> list[str]:
    """Delete the weights of ended trials that can no longer rank among the `keep` best.

    Scores never change once a trial ends, and new trials only push others down, so a trial
    outside the best `keep` now stays outside for good (KerasTuner issues #288, #172).

    Returns:
        The ids of the trials whose weights were deleted.
    """
    kept = {t.trial_id for t in best_trials(tuner, keep)}
    deleted = []
    for trial in tuner.oracle.trials.values():
        path = tuner.checkpoint_path(trial.trial_id)
        if trial.status in ENDED and trial.trial_id not in kept and path.exists():
            path.unlink()
            deleted.append(trial.trial_id)
    return deleted
