import json

import pandas as pd
import pytest

from hypermodels.space import COURSE_VALUES
from tests.conftest import assert_asha_replays, assert_median_replays, tune_args
from tuning import hardware
from tuning.cli.main import main

FAST = ["--hypermodel", "mlp", "--train-limit", "500", "--in-process"]


def trial_values(results, trial_id: str) -> dict:
    state = json.loads((results / "tuner" / f"trial_{trial_id}" / "trial.json").read_text())
    return state["hyperparameters"]["values"]


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_warm_start_trains_the_course_configuration_first(tmp_path, data_dir, dataset):
    results = tmp_path / dataset
    args = tune_args(results, data_dir, *FAST, "--max-trials", "2", "--max-epochs", "1")
    assert main([*args[:2], dataset, *args[3:]]) == 0
    assert trial_values(results, "0") == COURSE_VALUES[dataset]
    assert trial_values(results, "1") != COURSE_VALUES[dataset]


def test_warm_start_keeps_pins_and_can_be_switched_off(tmp_path, data_dir):
    pinned = tmp_path / "pinned"
    args = [*FAST, "--max-trials", "1", "--max-epochs", "1", "--set", "dropout=0.2"]
    assert main(tune_args(pinned, data_dir, *args)) == 0
    assert trial_values(pinned, "0") == {**COURSE_VALUES["mnist"], "dropout": 0.2}
    cold = tmp_path / "cold"
    assert main(tune_args(cold, data_dir, *args, "--no-warm-start")) == 0
    assert trial_values(cold, "0")["learning_rate"] != COURSE_VALUES["mnist"]["learning_rate"]


def test_resume_refuses_another_warm_start_or_stopping_setting(tmp_path, data_dir, capsys):
    results = tmp_path / "mnist"
    args = tune_args(results, data_dir, *FAST, "--max-trials", "1", "--max-epochs", "1")
    assert main([*args, "--no-warm-start", "--no-early-trial-stop"]) == 0
    capsys.readouterr()
    assert main([*args, "--max-trials", "2"]) == 2
    error = capsys.readouterr().err
    assert "early_trial_stop: off -> asha" in error and "warm_start: False -> True" in error
    # The grace period means nothing with the rule off, so it may differ.
    resumed = [*args, "--max-trials", "2", "--no-warm-start", "--no-early-trial-stop"]
    assert main([*resumed, "--grace-epochs", "3"]) == 0


def test_median_rule_stops_trailing_trials_and_keeps_their_best(tmp_path, data_dir):
    results = tmp_path / "mnist"
    args = [*FAST, "--max-trials", "6", "--max-epochs", "4", "--early-trial-stop", "median"]
    args += ["--grace-epochs", "1"]
    assert main(tune_args(results, data_dir, *args, "--initial-points", "5")) == 0
    assert_median_replays(results, grace_epochs=1, max_epochs=4)


def test_plain_training_path_is_recorded(tmp_path, data_dir):
    results = tmp_path / "mnist"
    args = [*FAST, "--max-trials", "1", "--max-epochs", "1", "--training", "plain"]
    assert main(tune_args(results, data_dir, *args)) == 0
    record = json.loads((results / "tuner" / "trial_0" / "record.json").read_text())
    # Keras's `auto` XLA as it resolves on this machine: on with a GPU, off on a CPU.
    assert record["training"] == {
        "precision": "float32",
        "jit_compile": bool(hardware.gpus()),
        "input_pipeline": False,
        "backend": "tensorflow",
    }


def test_asha_stops_trials_at_their_rungs_and_keeps_their_best(tmp_path, data_dir):
    results = tmp_path / "mnist"
    args = [*FAST, "--max-trials", "6", "--max-epochs", "4", "--initial-points", "6"]
    args += ["--early-trial-stop", "asha", "--rung-epochs", "1", "--eta", "2"]
    assert main(tune_args(results, data_dir, *args)) == 0
    assert_asha_replays(results, rung_epochs=1, eta=2, max_epochs=4)


@pytest.mark.parametrize(("saved", "rule"), [(True, "median"), (False, "off")])
def test_a_search_saved_with_the_old_switch_resumes_with_its_rule(tmp_path, data_dir, saved, rule):
    results = tmp_path / "mnist"
    args = tune_args(results, data_dir, *FAST, "--max-trials", "1", "--max-epochs", "1")
    assert main([*args, "--early-trial-stop", rule]) == 0
    run = json.loads((results / "run.json").read_text())
    run["config"]["early_trial_stop"] = saved  # as searches saved before asha existed
    (results / "run.json").write_text(json.dumps(run))
    assert main([*args, "--early-trial-stop", rule, "--max-trials", "2"]) == 0
    assert len(pd.read_csv(results / "trials.csv")) == 2
