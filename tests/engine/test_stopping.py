import keras
import numpy as np
import pytest

from tuning.config import TuneConfig, search_settings
from tuning.engine.stopping import (
    MIN_REFERENCE_TRIALS,
    AshaRule,
    MedianRule,
    StopPolicy,
    TrialStopping,
)
from tuning.objective import Objective

REFERENCE = ((0.5, 0.7, 0.8, 0.9), (0.6, 0.8, 0.85, 0.86), (0.4, 0.9))  # the last one ended early


def test_median_of_best_so_far_with_short_curves_carried_forward():
    rule = MedianRule(REFERENCE, grace_epochs=1)
    assert rule.median_at(1) == 0.5
    assert rule.median_at(2) == 0.8
    assert rule.median_at(4) == 0.9  # 0.9, 0.86 and the early-ended trial's best, 0.9


def test_stops_only_after_the_grace_period_and_below_the_median():
    rule = MedianRule(REFERENCE, grace_epochs=2)
    assert rule.stop_epoch([0.1, 0.1]) is None  # still in its grace period
    assert rule.stop_epoch([0.1, 0.1, 0.84]) == (3, 0.84, 0.85)
    assert rule.stop_epoch([0.1, 0.1, 0.85, 0.95]) is None  # equal to the median is enough
    assert "below the median 0.8500 of 3 finished trials" in rule.describe([0.1, 0.2, 0.3])


def test_never_stops_without_enough_finished_trials():
    rule = MedianRule(REFERENCE[: MIN_REFERENCE_TRIALS - 1], grace_epochs=0)
    assert rule.stop_epoch([0.0, 0.0, 0.0]) is None


@pytest.mark.parametrize("grace, epochs_run", [(1, 2), (5, 6)])
def test_callback_ends_fit_at_the_rule_s_epoch(grace, epochs_run):
    """A model that cannot learn (lr 0) trails a reference of 1.0 from its first epoch."""
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = keras.utils.to_categorical(np.arange(64) % 2, 2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.0), "categorical_crossentropy", metrics=["accuracy"])
    rule = MedianRule(((1.0,),) * 3, grace_epochs=grace)
    history = model.fit(
        x, y, validation_data=(x, y), epochs=10, verbose=0, callbacks=[TrialStopping(rule)]
    )
    assert len(history.epoch) == epochs_run


def test_asha_rungs_grow_by_eta():
    assert AshaRule((), rung_epochs=3, eta=3).rungs(100) == [3, 9, 27, 81]
    assert AshaRule((), rung_epochs=1, eta=2).rungs(9) == [1, 2, 4, 8]
    assert AshaRule((), rung_epochs=5, eta=3).rungs(4) == []


# Three ended trials: one ran 4 epochs, one was stopped at the rung of epoch 2, one ended
# after 1 epoch (EarlyStopping) and so never reached the rung of epoch 2.
ASHA_REFERENCE = ((0.5, 0.8, 0.85, 0.9), (0.6, 0.7), (0.9,))


def test_asha_keeps_the_top_1_over_eta_of_the_trials_that_reached_a_rung():
    rule = AshaRule(ASHA_REFERENCE, rung_epochs=1, eta=2, min_results=1)
    # Rung 1: the median (1 - 1/2 quantile) of 0.5, 0.6 and 0.9 is 0.6.
    assert rule.cutoff_at(1) == (0.6, 3)
    assert rule.stop_epoch([0.55, 0.99]) == (1, 0.55, 0.6, 3)
    # Rung 2: two trials reached it, best 0.8 and 0.7; the cutoff is their median, 0.75.
    assert rule.cutoff_at(2) == (pytest.approx(0.75), 2)
    assert rule.stop_epoch([0.6, 0.74])[:2] == (2, 0.74)
    assert rule.stop_epoch([0.6, 0.75, 0.0]) is None  # epoch 3 is no rung
    assert rule.stop_epoch([0.6, 0.75, 0.0, 0.89]) == (4, 0.89, 0.9, 1)  # 4 is
    assert "at the rung of epoch 1: best val_accuracy 0.5500 below the top 1/2 cutoff" in (
        rule.describe([0.55])
    )


def test_asha_stops_no_trial_on_a_single_result_at_its_rung():
    rule = AshaRule(ASHA_REFERENCE, rung_epochs=1, eta=2)  # two results needed by default
    assert rule.cutoff_at(2) == (pytest.approx(0.75), 2)
    assert rule.cutoff_at(4) is None  # one trial reached epoch 4: no cutoff on it alone
    assert rule.stop_epoch([0.6, 0.75, 0.0, 0.1]) is None
    # A search saved before the rule needed two results resumes with its old rule.
    assert StopPolicy("asha", 1, 1, 2, rung_min_results=1).make(
        [(c, False) for c in ASHA_REFERENCE]
    ).stop_epoch([0.6, 0.75, 0.0, 0.1]) == (4, 0.75, 0.9, 1)  # best so far 0.75
    old = {"dataset": "mnist", "early_trial_stop": "asha", "rung_epochs": 3, "eta": 3}
    assert search_settings(old)["rung_min_results"] == 1
    assert search_settings(TuneConfig(dataset="mnist").to_json())["rung_min_results"] == 2


def test_asha_lets_the_first_trial_at_a_rung_go_on():
    rule = AshaRule(((0.9,),), rung_epochs=1, eta=3)
    assert rule.stop_epoch([0.95, 0.1, 0.1]) is None  # rung 3: nobody reached it before
    assert rule.cutoff_at(3) is None


def test_each_rule_reads_its_own_reference():
    ended = [((0.5, 0.6), False), ((0.1, 0.2), True)]  # the second was stopped early
    median = StopPolicy("median", grace_epochs=1).make(ended)
    assert isinstance(median, MedianRule) and median.reference == ((0.5, 0.6),)
    asha = StopPolicy("asha", rung_epochs=1, eta=2).make(ended)
    assert isinstance(asha, AshaRule) and asha.reference == ((0.5, 0.6), (0.1, 0.2))
    assert StopPolicy("off").make(ended) is None


def test_a_lower_is_better_objective_stops_on_the_oriented_curve_and_says_so_in_its_terms():
    loss = Objective("val_loss", "min")
    reference = tuple(loss.oriented(c) for c in ((0.5, 0.3), (0.6, 0.4), (0.4, 0.2)))
    rule = AshaRule(reference, rung_epochs=1, eta=2, goal=loss)
    assert rule.stop_epoch(loss.oriented([0.45])) is None  # under the cutoff: lower is better
    stopped = loss.oriented([0.55])
    assert rule.stop_epoch(stopped)[:2] == (1, -0.55)
    assert "best val_loss 0.5500 above the top 1/2 cutoff 0.5000 of 3 trials" in (
        rule.describe(stopped)
    )


def test_the_callback_reads_the_objective_and_turns_a_loss_over():
    """A model that cannot learn (lr 0) has a flat loss, worse than a reference of 0.0."""
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = keras.utils.to_categorical(np.arange(64) % 2, 2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.0), "categorical_crossentropy", metrics=["accuracy"])
    loss = Objective("val_loss", "min")
    # val_loss near 0.7: a lower-is-better reference of 0.0 stops it, one of 5.0 does not.
    for reference, epochs_run in ((0.0, 2), (5.0, 10)):
        rule = MedianRule(((-reference,),) * 3, grace_epochs=1, goal=loss)
        callback = TrialStopping(rule, loss)
        history = model.fit(
            x, y, validation_data=(x, y), epochs=10, verbose=0, callbacks=[callback]
        )
        assert len(history.epoch) == epochs_run
