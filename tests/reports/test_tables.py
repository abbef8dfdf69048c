"""Report writing: atomic files and the closing summary."""

from __future__ import annotations

import keras
import keras_tuner as kt
import pandas as pd

from hypermodels.space import search_space
from tuning.engine.record import training_record
from tuning.objective import Objective
from tuning.reports.tables import summary
from tuning.store.files import write_csv_atomic


def test_csv_is_replaced_whole_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "trials.csv"
    write_csv_atomic(pd.DataFrame({"a": [1, 2]}), path)
    write_csv_atomic(pd.DataFrame({"a": [0.30000000000000004]}), path)
    assert path.read_text() == "a\n0.3\n"
    assert [p.name for p in tmp_path.iterdir()] == ["trials.csv"]


def test_training_record_reads_epochs_best_epoch_and_final_lr():
    history = keras.callbacks.History()
    history.epoch = [0, 1, 2, 3]
    history.history = {
        "val_accuracy": [0.90, 0.95, 0.95, 0.93],
        "learning_rate": [1e-3, 1e-3, 3.787e-4, 3.787e-4],
    }
    record = training_record(history, 12.345, Objective())
    history_rows = record.pop("history")
    assert record == {"epochs": 4, "best_epoch": 2, "final_lr": 3.787e-4, "seconds": 12.35}
    assert [row["epoch"] for row in history_rows] == [1, 2, 3, 4]
    assert history_rows[2] == {"epoch": 3, "val_accuracy": 0.95, "learning_rate": 3.787e-4}


def test_summary_shows_named_choices_and_leaves_an_inactive_value_empty(tmp_path):
    hp = search_space({"optimizer": "sgd", "batch_norm": True}, space="full")
    trial = kt.engine.trial.Trial(hp, trial_id="3")
    trial.score = 0.5
    evaluated = [(trial, {"test_accuracy": 0.4, "test_loss": 1.5})]
    lines = summary(evaluated, [tmp_path / "trials.csv"]).splitlines()
    assert lines[0].startswith("best trial 3: val_accuracy 0.5000")
    assert "  optimizer       sgd" in lines
    assert "  batch_norm      True" in lines
    assert "  weight_decay" in lines  # inactive without adamw: no value at all
    assert "  learning_rate   2e-05" in lines  # the default: the low end of its range
    assert "  filters         64" in lines


def test_summary_without_completed_trials_says_so(tmp_path):
    text = summary([], [tmp_path / "trials.csv"])
    assert "no trial completed" in text and str(tmp_path / "trials.csv") in text


def test_training_record_names_the_epoch_a_loss_diverged():
    history = keras.callbacks.History()
    history.epoch = [0, 1]
    history.history = {"val_accuracy": [0.5, 0.1], "loss": [2.3, float("inf")]}
    record = training_record(history, 1.0, Objective())
    assert record["reason"] == "loss became inf in epoch 2 (TerminateOnNaN)"
