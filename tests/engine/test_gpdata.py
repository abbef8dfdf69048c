"""What the oracle's Gaussian process is fitted to: each reading of the trials."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats

from hypermodels import space
from tuning.engine.gpdata import normal_scores

from helpers import tried_oracle


@pytest.fixture
def oracle(tmp_path):
    """A fresh oracle over the five l1 values, two of them tried and completed."""
    return tried_oracle(tmp_path)


def test_the_gp_learns_each_trial_at_the_fidelity_it_reached(oracle):
    first, second = sorted(oracle.trials)
    # The second was stopped by a rule after 3 of its 100 epochs; the first ran to its end.
    record = {"epochs": 3, "stopped_early": "stopped at the rung of epoch 3"}
    (oracle.trial_dir(second) / "record.json").write_text(json.dumps(record))
    x, y = oracle.fidelity_data()
    assert list(x[:, -1]) == [1.0, 0.03]
    assert x.shape[1] == len(oracle.searched_space()) + 1
    assert y[1] < y[0]  # the better score lower: the GP minimizes
    oracle.normal_scores = False  # a search saved before normal scores
    assert list(oracle.fidelity_data()[1]) == [-0.5, -0.6]


def test_the_trials_that_ran_on_count_at_each_rung_they_passed(oracle):
    first, second = sorted(oracle.trials)
    # The first ran to its own end after 12 epochs, past the rungs of epochs 3 and 9; the
    # second was stopped at the rung of epoch 3. Their scores: 0.5 and 0.6.
    ran_on = [0.1, 0.3, 0.2, 0.35, 0.4, 0.38, 0.42, 0.45, 0.44, 0.47, 0.5, 0.49]
    write_curves(oracle, {first: ran_on, second: [0.2, 0.6, 0.55]}, stopped={second})
    oracle.normal_scores, oracle.rung_scores = False, True
    x, y = oracle.fidelity_data()
    # The first at epochs 3 and 9 with its best by then, and at its end; the second once.
    assert list(x[:, -1]) == [0.03, 0.09, 1.0, 0.03]
    assert list(y) == [-0.3, -0.45, -0.5, -0.6]
    np.testing.assert_array_equal(x[0, :-1], x[2, :-1])  # the same values at each rung
    oracle.rung_scores = False  # the default: each trial once, at its end
    x, y = oracle.fidelity_data()
    assert list(x[:, -1]) == [1.0, 0.03] and list(y) == [-0.5, -0.6]


def write_curves(oracle, curves: dict, stopped: set) -> None:
    """Give each trial a record: its val_accuracy epoch by epoch, stopped by a rung or not."""
    for trial_id, curve in curves.items():
        record = {
            "epochs": len(curve),
            "stopped_early": "stopped at a rung" if trial_id in stopped else None,
            "history": [{"loss": 1.0, "val_accuracy": score} for score in curve],
        }
        (oracle.trial_dir(trial_id) / "record.json").write_text(json.dumps(record))


def test_the_gp_can_fit_the_values_alone_at_the_highest_rung_enough_trials_share(oracle):
    first, second = sorted(oracle.trials)
    ran_on = [0.1, 0.3, 0.2, 0.35, 0.4, 0.38, 0.42, 0.45, 0.44, 0.47, 0.5, 0.49]
    oracle.normal_scores, oracle.shared_rung = False, True
    assert len(oracle.searched_space()) + 1 == 2  # l1 alone: two trials make a rung shared
    # The first ran to its own end after 12 epochs; the second was stopped at epoch 3. Only
    # epoch 3 has both: each counts with its best by then, and no fidelity column.
    write_curves(oracle, {first: ran_on, second: [0.2, 0.6, 0.55]}, stopped={second})
    x, y, full = oracle.gp_data()
    assert x.shape == (2, 1) and full == []
    assert list(y) == [-0.3, -0.6]
    # Stopped at epoch 9 instead: both reached it, and the first counts by then (0.45).
    write_curves(oracle, {first: ran_on, second: [0.2, 0.6, *[0.55] * 6, 0.61]}, {second})
    assert list(oracle.gp_data()[1]) == [-0.45, -0.61]
    # Stopped at epoch 2, before every rung: the first alone has a score anywhere, and the
    # GP fits it at the highest epoch, its end (a trial EarlyStopping ended counts there).
    write_curves(oracle, {first: ran_on, second: [0.2, 0.6]}, {second})
    assert list(oracle.gp_data()[1]) == [-0.5]
    # Both stopped before the first rung (a short budget): KerasTuner's reading, values alone.
    write_curves(oracle, {first: [0.2, 0.5], second: [0.2, 0.6]}, {first, second})
    x, y, full = oracle.gp_data()
    assert x.shape == (2, 1) and full == [] and list(y) == [-0.5, -0.6]
    proposal = next(oracle.ranked_proposals("2"))
    assert proposal["l1"] in space.REGULARIZER_STRENGTHS
    oracle.shared_rung = False  # the default: each trial at its own fidelity
    assert oracle.gp_data()[2] == [1.0]


def test_a_diverged_trial_does_not_set_the_gps_scale(oracle):
    # Scores 0.5 and 0.6, then one that diverged at 0.1: the GP sees ranks at even normal
    # quantiles, so the gap between 0.5 and 0.6 counts as much as the one to 0.1.
    trial = oracle.create_trial("tuner0")
    oracle.update_trial(trial.trial_id, {"val_accuracy": 0.1})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    _, y = oracle.fidelity_data()
    np.testing.assert_allclose(y, scipy.stats.norm.ppf([0.5, 0.25, 0.75]))
    # A score that is not a number ranks last (lower is better here).
    np.testing.assert_allclose(normal_scores([2.0, np.nan, 1.0]), y[[0, 2, 1]])
