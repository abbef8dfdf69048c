"""The best trials scored on the test set: as they end where they may rank, else at the end."""

from __future__ import annotations

import json

import pytest

from tuning.cli.main import main
from tuning.engine.evaluate import EVALUATION_FILE
from tuning.engine.kt_internals import Tuner
from tuning.reports.tables import TEST_COLUMNS

from helpers import SMALL, read_csv, tune_args


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


def test_a_trial_scored_as_it_ends_matches_its_checkpoint_restored(search_copy):
    # The tiny search's trials scored themselves on test with the model they trained; the
    # checkpoint restored in a fresh model must give the same figures.
    cached = {
        path.parent.name: json.loads(path.read_text())
        for path in search_copy.glob("tuner/trial_*/" + EVALUATION_FILE)
    }
    assert sorted(cached) == ["trial_0", "trial_1"]  # top-n 2: both could rank
    for path in search_copy.glob("tuner/trial_*/" + EVALUATION_FILE):
        path.unlink()
    assert main(["report", str(search_copy)]) == 0
    for name, before in cached.items():
        after = json.loads((search_copy / "tuner" / name / EVALUATION_FILE).read_text())
        assert after["checkpoint_sha256"] == before["checkpoint_sha256"]
        assert after["test_accuracy"] == pytest.approx(before["test_accuracy"], abs=1e-6)
        assert after["test_loss"] == pytest.approx(before["test_loss"], rel=1e-4)


def test_only_trials_that_may_rank_are_scored_as_they_end(tmp_path, data_dir, monkeypatch):
    restored = []
    real_load = Tuner.load_model
    monkeypatch.setattr(
        Tuner, "load_model", lambda self, t: restored.append(t) or real_load(self, t)
    )
    args = tune_args(tmp_path, data_dir, "--max-trials", "4", "--max-epochs", "1", *SMALL)
    assert main([*args, "--top-n", "1", "--quiet"]) == 0
    trials = read_csv(tmp_path / "trials.csv")
    best_before = trials.val_accuracy.cummax().shift(fill_value=-1.0)
    for row, before in zip(trials.itertuples(), best_before, strict=True):
        scored = (tmp_path / "tuner" / f"trial_{row.trial_id}" / EVALUATION_FILE).exists()
        assert scored == (row.val_accuracy > before), row  # ahead of every earlier trial
    best = read_csv(tmp_path / "test_results.csv").iloc[0]
    cached = json.loads(
        (tmp_path / "tuner" / f"trial_{best.trial_id}" / EVALUATION_FILE).read_text()
    )
    assert best.test_accuracy == pytest.approx(cached["test_accuracy"])
    # The end of the search scored no model again: no trial's model was loaded back (the
    # best one is built once more for best_model.keras, with Keras's own layers).
    assert restored == []
    assert (tmp_path / "best_model.keras").exists()
