"""The oracle: warm start, atomic state, and never the same configuration twice."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import threadpoolctl

from hypermodels import space
from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.engine import oracle as oracle_module
from tuning.engine.oracle import configuration_key
from tuning.engine.search import make_tuner

from helpers import PINS, tried_oracle, tune_args


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
    predict = oracle_module.mean_and_std  # the acquisition's predictions

    def counted(*args, **kwargs):
        seen.append(blas_threads())
        return predict(*args, **kwargs)

    monkeypatch.setattr(oracle_module, "mean_and_std", counted)
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
