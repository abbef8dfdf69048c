"""`tune --tensorboard`: each trial's curves and its values for TensorBoard's HParams dashboard."""

from __future__ import annotations

import json

import keras
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import metadata

from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.engine import tensorboard
from tuning.engine.callbacks import training_callbacks
from tuning.objective import Objective

from helpers import read_csv, tune_args

TENSORS = {event_accumulator.TENSORS: 0}  # keep every event, not a sample


def events(folder) -> event_accumulator.EventAccumulator:
    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance=TENSORS)
    accumulator.Reload()
    return accumulator


def test_every_trial_logs_its_curves_and_hparams(tmp_path, data_dir):
    # Trials in this process; a trial process reads the switch from run.json as it reads
    # every setting (test_progress: --quiet reaches each trial process).
    args = tune_args(tmp_path, data_dir, "--train-limit", "500")
    assert main([*args, "--max-trials", "2", "--max-epochs", "2", "--tensorboard"]) == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert sorted(p.name for p in (tmp_path / "tensorboard").iterdir()) == list(trials.trial_id)
    for trial_id in trials.trial_id:
        run = tmp_path / "tensorboard" / trial_id / "execution0"
        hparams = events(run).PluginTagToContent(metadata.PLUGIN_NAME)
        start = metadata.parse_session_start_info_plugin_data(
            hparams[metadata.SESSION_START_INFO_TAG]
        )
        assert metadata.SESSION_END_INFO_TAG in hparams  # the trial's session ended
        assert start.group_name == trial_id
        saved = json.loads((tmp_path / "tuner" / f"trial_{trial_id}" / "trial.json").read_text())
        values = saved["hyperparameters"]["values"]
        assert set(start.hparams) == set(values)
        for name, value in values.items():
            assert start.hparams[name].number_value == pytest.approx(value)
        validation = events(run / "validation").Tensors("epoch_accuracy")
        assert [e.step for e in validation] == [0, 1]  # both epochs


def test_the_callback_is_there_only_when_asked_for(tmp_path):
    config = TuneConfig(dataset="mnist", results_dir=tmp_path).resolve()
    assert not [
        c
        for c in training_callbacks(config, Objective())
        if isinstance(c, keras.callbacks.TensorBoard)
    ]
    config.tensorboard = True
    (board,) = [
        c
        for c in training_callbacks(config, Objective())
        if isinstance(c, keras.callbacks.TensorBoard)
    ]
    assert board.log_dir == str(tmp_path / "tensorboard")


def test_a_rerun_trial_logs_afresh(tmp_path):
    callbacks = [keras.callbacks.TerminateOnNaN(), tensorboard.callback(tmp_path)]
    for trial_id in ("3", "4"):
        (tmp_path / "tensorboard" / trial_id / "execution0").mkdir(parents=True)
    tensorboard.clear_trial_logs(callbacks, "3")
    assert [p.name for p in (tmp_path / "tensorboard").iterdir()] == ["4"]
