"""The oracle: warm start, atomic state, and never the same configuration twice."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import threadpoolctl

from hypermodels import space
from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.engine.gpdata import normal_scores
from tuning.engine.oracle import configuration_key
from tuning.engine.search import make_tuner

from helpers import tune_args

# Only l1 is searched: five configurations in all.
PINS = {**space.COURSE_VALUES["mnist"], "augment_factor": 0.0}
del PINS["l1"]


def test_alike_means_equal_active_values_with_floats_to_six_digits():
    base = {"l1": 1e-4, "dropout": 0.3, "optimizer": "adam", "batch_norm": True}
    assert configuration_key(base) == configuration_key({**base, "l1": 1.0000004e-4})
    assert configuration_key(base) != configuration_key({**base, "l1": 1.00001e-4})
    assert configuration_key(base) != configuration_key({**base, "optimizer": "sgd"})
    assert configuration_key(base) != configuration_key({**base, "batch_norm": False})
    # An inactive name has no value: a trial without weight_decay differs from one with it.
    assert configuration_key(base) != configuration_key({**base, "weight_decay": 1e-4})


@pytest.fixture
def oracle(tmp_path):
    """A fresh oracle over the five l1 values, two of them tried and completed."""
    return tried_oracle(tmp_path)


def tried_oracle(tmp_path):
    """An oracle over the five l1 values in `tmp_path`, two of them tried and completed."""
    config = TuneConfig(
        "mnist",
        hypermodel="mlp",
        pins=PINS,
        max_trials=10,
        initial_points=2,
        warm_start=False,
        results_dir=tmp_path,
    )
    oracle = make_tuner(config.resolve()).oracle
    for score in (0.5, 0.6):
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"val_accuracy": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return oracle


def tried(oracle) -> list[float]:
    return [t.hyperparameters.values["l1"] for t in oracle.trials.values()]


def with_l1(l1: float) -> dict:
    return {**PINS, "l1": l1}


def test_a_repeated_proposal_gives_way_to_the_best_new_restart(oracle, monkeypatch):
    first, second = tried(oracle)
    new = next(v for v in space.REGULARIZER_STRENGTHS if v not in (first, second))
    proposals = [with_l1(first), with_l1(second), with_l1(new)]
    monkeypatch.setattr(oracle, "ranked_proposals", lambda trial_id: iter(proposals))
    trial = oracle.create_trial("tuner0")
    assert trial.hyperparameters.values["l1"] == new
    assert oracle.replaced_proposals == 1


def test_when_every_restart_repeats_a_random_new_configuration_runs(oracle, monkeypatch, tmp_path):
    first, _ = tried(oracle)
    monkeypatch.setattr(oracle, "ranked_proposals", lambda trial_id: iter([with_l1(first)] * 3))
    trial = oracle.create_trial("tuner0")
    assert trial.status == "RUNNING" and trial.hyperparameters.values["l1"] not in tried(oracle)[:2]
    assert oracle.replaced_proposals == 1
    oracle.save()  # the count survives a resume
    saved = json.loads((tmp_path / "tuner" / "oracle.json").read_text())
    assert saved["replaced_proposals"] == 1


def test_an_exhausted_space_stops_the_search(oracle):
    for _ in range(3):  # the three untried l1 values, whatever the GP proposes
        trial = oracle.create_trial("tuner0")
        assert trial.status == "RUNNING"
        oracle.update_trial(trial.trial_id, {"val_accuracy": 0.4})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert sorted(tried(oracle)) == sorted(space.REGULARIZER_STRENGTHS)
    assert oracle.create_trial("tuner0").status == "STOPPED"


def test_a_small_discrete_search_never_repeats_a_trial(tmp_path, data_dir):
    # Only l1 and l2 searched: 25 configurations, where KerasTuner's own oracle ran one
    # configuration in six of eight trials.
    pins = ["augment_factor=0", "dropout=0.5", "learning_rate=0.001", "batch_size=256"]
    args = tune_args(tmp_path, data_dir, "--max-trials", "8", "--max-epochs", "1")
    args += ["--train-limit", "500", "--initial-points", "2"]
    args += ["--top-n", "1", "--quiet", *(f"--set={pin}" for pin in pins)]
    assert main(args) == 0
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert len(trials) == 8
    configurations = [tuple(row) for row in trials[list(space.NAMES)].itertuples(index=False)]
    for a, b in combinations(configurations, 2):
        assert a != b
    run = json.loads((tmp_path / "run.json").read_text())
    oracle = json.loads((tmp_path / "tuner" / "oracle.json").read_text())
    assert run["replaced_proposals"] == oracle["replaced_proposals"] >= 0


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
    curves = {
        first: [0.1, 0.3, 0.2, 0.35, 0.4, 0.38, 0.42, 0.45, 0.44, 0.47, 0.5, 0.49],
        second: [0.2, 0.6, 0.55],
    }
    for trial_id, curve in curves.items():
        record = {
            "epochs": len(curve),
            "stopped_early": "stopped at the rung of epoch 3" if trial_id == second else None,
            "history": [{"loss": 1.0, "val_accuracy": score} for score in curve],
        }
        (oracle.trial_dir(trial_id) / "record.json").write_text(json.dumps(record))
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


def test_the_same_seed_and_history_propose_the_same_trial_at_every_fidelity(tmp_path):
    proposals = []
    for run in ("a", "b"):
        oracle = tried_oracle(tmp_path / run)
        second = sorted(oracle.trials)[1]
        record = {"epochs": 3, "stopped_early": "stopped at the rung of epoch 3"}
        (oracle.trial_dir(second) / "record.json").write_text(json.dumps(record))
        proposals.append(oracle.create_trial("tuner0").hyperparameters.values)
    assert proposals[0] == proposals[1]
    assert proposals[0]["l1"] not in tried(tried_oracle(tmp_path / "c"))


def test_the_gp_predicts_on_one_blas_thread_and_gives_the_others_back(oracle, monkeypatch):
    # Its 50 restarts make thousands of one-row predictions, which OpenBLAS's other thread
    # made 3 to 4 times slower while a trial trained on the other core (docs/speed.md).
    def blas_threads() -> set[int]:
        return {
            pool["num_threads"]
            for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] == "blas"
        }

    before, seen = blas_threads(), []
    predict = oracle.gpr.predict

    def counted(*args, **kwargs):
        seen.append(blas_threads())
        return predict(*args, **kwargs)

    monkeypatch.setattr(oracle.gpr, "predict", counted)
    assert oracle.create_trial("tuner0").status == "RUNNING"  # the GP's proposal
    assert seen and all(threads == {1} for threads in seen)
    assert blas_threads() == before


def made_trials(tmp_path, fresh_oracles: bool, restart_seeds: bool = True) -> list[dict]:
    """Eight trials of the card space, two random, the GP's after them, as one oracle or many.

    With `fresh_oracles` each trial is created by a new oracle reloaded from the saved search,
    as a process per trial does. Scores follow from the values; one trial diverges (0.10).
    """
    config = TuneConfig(
        "mnist",
        hypermodel="mlp",
        max_trials=8,
        initial_points=2,
        warm_start=False,
        seed=23,
        gp_restart_seeds=restart_seeds,
        results_dir=tmp_path,
    ).resolve()
    oracle = make_tuner(config).oracle
    for number in range(8):
        if fresh_oracles and number:
            oracle = make_tuner(config).oracle
            oracle.reload()  # what a trial process's tuner does with a saved search
        trial = oracle.create_trial("tuner0")
        values = trial.hyperparameters.values
        score = 0.10 if number == 1 else 0.99 - values["dropout"] / 10 - values["l2"] * 10
        oracle.update_trial(trial.trial_id, {"val_accuracy": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return [oracle.trials[i].hyperparameters.values for i in sorted(oracle.trials, key=int)]


def test_a_process_per_trial_proposes_what_one_process_does_trial_after_trial(tmp_path):
    # Issue 26: the acquisition's restart points came from a generator each new oracle made
    # afresh, so a process per trial started every proposal from the same 50 points and one
    # process drew new ones: the two modes proposed alike only until the second GP trial.
    one = made_trials(tmp_path / "one", fresh_oracles=False)
    many = made_trials(tmp_path / "many", fresh_oracles=True)
    assert one == many
    assert len({configuration_key(values) for values in one}) == 8


def test_each_trial_starts_the_acquisition_from_points_of_its_own(oracle, tmp_path):
    again = tried_oracle(tmp_path / "again")  # the same search, another process
    np.testing.assert_array_equal(oracle.restart_starts("02"), again.restart_starts("02"))
    assert not np.allclose(oracle.restart_starts("02"), oracle.restart_starts("03"))
    # As KerasTuner: a new oracle draws the same first points, whatever the trial.
    oracle.restart_seeds = again.restart_seeds = False
    np.testing.assert_array_equal(oracle.restart_starts("02"), again.restart_starts("03"))


def test_a_seed_of_zero_seeds_the_search_as_any_other(tmp_path):
    # KerasTuner reads 0 as no seed and draws one at random: `tune --seed 0` ran other
    # trials each time.
    firsts = []
    for name in ("first", "again"):
        config = TuneConfig(
            "mnist", hypermodel="mlp", seed=0, warm_start=False, results_dir=tmp_path / name
        )
        oracle = make_tuner(config.resolve()).oracle
        assert oracle.seed == 0 and oracle.gpr.random_state == 0
        firsts.append(oracle.create_trial("tuner0").hyperparameters.values)
    assert firsts[0] == firsts[1]
