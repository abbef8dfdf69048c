from __future__ import annotations

import gc
import json
import weakref

import pandas as pd
import pytest
import tensorflow as tf

from hypermodels.base import ImageClassifier
from hypermodels.space import COURSE_VALUES
from tuning import hardware
from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.data import hold_out, load_dataset, split
from tuning.engine.search import make_tuner, run_search

from helpers import (
    SMALL,
    assert_asha_replays,
    assert_median_replays,
    read_csv,
    tune_args,
)

FAST = ["--train-limit", "500"]


def trial_values(results, trial_id: str) -> dict:
    state = json.loads((results / "tuner" / f"trial_{trial_id}" / "trial.json").read_text())
    return state["hyperparameters"]["values"]


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_warm_start_trains_the_course_configuration_first(request, tmp_path, data_dir, dataset):
    if dataset == "mnist":  # the session's tiny search is a warm-started 2-trial mnist search
        results = request.getfixturevalue("tiny_search")
    else:
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
    args += ["--grace-epochs", "1", "--top-n", "1"]
    assert main(tune_args(results, data_dir, *args, "--initial-points", "6")) == 0
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
        "epoch_seeds": True,
        "searched_inputs": False,
        "backend": "tensorflow",
    }


def test_asha_stops_trials_at_their_rungs_and_keeps_their_best(tmp_path, data_dir):
    results = tmp_path / "mnist"
    args = [*FAST, "--max-trials", "6", "--max-epochs", "4", "--initial-points", "6"]
    args += ["--early-trial-stop", "asha", "--rung-epochs", "1", "--eta", "2", "--top-n", "1"]
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


def test_diverging_trials_fail_with_a_reason_and_the_search_goes_on(tmp_path, data_dir, capsys):
    args = tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "3", *SMALL)
    assert main([*args, "--set", "learning_rate=1e30"]) == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["FAILED", "FAILED"]  # the second ran after the first failed
    assert trials.reason.str.contains("loss became nan in epoch 1").all()
    assert trials.val_accuracy.isna().all() and (trials.epochs == 1).all()  # stopped at once
    assert read_csv(tmp_path / "test_results.csv").empty
    assert "trial 0 failed: loss became nan" in capsys.readouterr().out


@pytest.mark.parametrize(
    "processes",
    [False, pytest.param(True, marks=pytest.mark.processes)],
    ids=["in-process", "process-per-trial"],
)
def test_consecutive_failures_stop_the_search_with_reports(tmp_path, data_dir, capsys, processes):
    args = tune_args(
        tmp_path, data_dir, "--max-trials", "4", "--max-epochs", "1", processes=processes
    )
    args += SMALL
    assert main([*args, "--set", "learning_rate=1e30", "--max-failures", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stopped after 2 consecutive failed trials" in err[0]
    assert list(read_csv(tmp_path / "trials.csv").status) == ["FAILED", "FAILED"]
    assert (tmp_path / "test_results.csv").exists()
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "stopped"


def test_a_trial_that_raises_fails_alone(tmp_path, data_dir, monkeypatch):
    real_fit = ImageClassifier.fit
    calls = []

    def fit_out_of_memory_once(self, hp, model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return real_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(ImageClassifier, "fit", fit_out_of_memory_once)
    args = tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "1", *SMALL)
    assert main(args) == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["FAILED", "COMPLETED"]
    assert trials.reason[0] == "ResourceExhaustedError: OOM when allocating tensor"
    assert list(read_csv(tmp_path / "test_results.csv").trial_id) == ["1"]


def test_no_model_outlives_its_trial(tmp_path, data_dir, monkeypatch):
    models, kept = [], []
    real_build = ImageClassifier.build

    def build(self, hp):
        model = real_build(self, hp)
        models.append(weakref.ref(model))
        # Earlier trials' models must be gone by the time the next one is built.
        kept.append(sum(ref() is not None for ref in models[:-1]))
        return model

    monkeypatch.setattr(ImageClassifier, "build", build)
    config = TuneConfig(
        dataset="mnist",
        hypermodel="mlp",
        max_trials=4,
        max_epochs=1,
        train_limit=256,
        results_dir=tmp_path,
        data_dir=data_dir,
        pins={"batch_size": 64},
        precision="float32",
    ).resolve()
    run_search(
        make_tuner(config), config, split(hold_out(load_dataset("mnist", data_dir)), 256), verbose=0
    )
    assert len(kept) >= 4 and not any(kept), "models of earlier trials still alive"
    assert gc.get_freeze_count() == 0  # what the search froze is back in the collector's reach


def test_keep_checkpoints_deletes_weights_that_cannot_win(tmp_path, data_dir):
    args = tune_args(tmp_path, data_dir, "--max-trials", "3", "--max-epochs", "1", *SMALL)
    assert main([*args, "--top-n", "1", "--keep-checkpoints", "1"]) == 0
    weights = sorted(p.parent.name for p in tmp_path.glob("tuner/trial_*/*.weights.h5"))
    best = read_csv(tmp_path / "test_results.csv").trial_id[0]
    assert weights == [f"trial_{best}"]
