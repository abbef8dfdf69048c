import keras
import numpy as np
import pytest

from tuning.stopping import MIN_REFERENCE_TRIALS, MedianRule, MedianStopping

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
        x, y, validation_data=(x, y), epochs=10, verbose=0, callbacks=[MedianStopping(rule)]
    )
    assert len(history.epoch) == epochs_run
