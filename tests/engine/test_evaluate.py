"""The best trials evaluated on the test set, in the order of their scores."""

from __future__ import annotations

from tuning.reports.tables import TEST_COLUMNS

from helpers import read_csv


def test_search_evaluates_best_trials_on_test(tiny_search):
    trials = read_csv(tiny_search / "trials.csv")
    results = read_csv(tiny_search / "test_results.csv")
    assert list(results.columns) == TEST_COLUMNS
    assert list(results["rank"]) == [1, 2]
    assert results.val_accuracy.is_monotonic_decreasing
    assert results.trial_id.iloc[0] == trials.loc[trials.val_accuracy.idxmax(), "trial_id"]
    # 2,000 images and 2 epochs already put the best CNN far above chance (0.1).
    assert results.test_accuracy.iloc[0] > 0.5
    assert (results.test_loss > 0).all()
