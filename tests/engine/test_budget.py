"""The time budget: durations, the epoch-end stop, and searches that stop and go on."""

from __future__ import annotations

import json
import time

import keras
import numpy as np
import pandas as pd
import pytest

from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.engine import budget
from tuning.engine.budget import Budget
from tuning.engine.stopping import TimeBudgetStop
from tuning.settings import parse_duration, show_duration

from helpers import SMALL, tune_args


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45m", 2700), ("2h", 7200), ("1h30m", 5400), ("90s", 90), ("3600", 3600), ("1.5h", 5400)],
)
def test_durations_read_as_a_user_writes_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "1h30", "0", "-5", "0m"])
def test_a_bad_duration_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_are_shown_as_written():
    assert [show_duration(s) for s in (5400, 2700, 50, 3605)] == ["1h 30m", "45m", "50s", "1h 5s"]


def test_the_budget_stops_fit_at_the_end_of_the_epoch_it_ran_out(monkeypatch):
    monkeypatch.setattr(budget, "clock", lambda: 100.0)
    spent = Budget(seconds=60, spent_before=50, started=90)  # 50 + 10 = 60: spent
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    stop = TimeBudgetStop(spent)
    history = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=3, callbacks=[stop], verbose=0)
    assert len(history.epoch) == 1
    assert stop.describe() == "time budget: 1m spent, stopped after epoch 1"
    assert not TimeBudgetStop(Budget(60, 0, 90)).budget.over()  # 10 s of 60


def fake_clock(monkeypatch, *readings: float) -> None:
    """`budget.clock` reads `readings` in turn, then 10,000 s: the budget runs out there."""
    values = iter(readings)
    monkeypatch.setattr(budget, "clock", lambda: next(values, 10_000.0))


def test_a_spent_budget_stops_the_running_trial_and_starts_no_other(
    tmp_path, data_dir, monkeypatch, capsys
):
    # Read when the search starts (0 s), when trial 0 is handed out (10 s), then at each
    # epoch's end: the budget of 100 s has run out by the end of epoch 1.
    fake_clock(monkeypatch, 0.0, 10.0)
    args = tune_args(tmp_path, data_dir, "--train-limit", "500")
    args += ["--max-trials", "2", "--max-epochs", "3", "--time-budget", "100"]
    assert main([*args, "--no-warm-start", "--quiet"]) == 0
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["STOPPED_EARLY"] and list(trials.epochs) == [1]
    assert trials.reason[0] == "time budget: 1m 40s spent, stopped after epoch 1"
    assert list(pd.read_csv(tmp_path / "test_results.csv").trial_id) == [0]  # its best kept
    out = capsys.readouterr().out
    assert "note: the time budget of 1m 40s was spent after 1 of 2 trials" in out
    assert json.loads((tmp_path / "run.json").read_text())["search_seconds"] == 10_000


def test_a_budget_spent_before_the_first_trial_still_buys_its_first_epoch(
    tmp_path, data_dir, monkeypatch, capsys
):
    # Read when the search starts (0 s), then 10,000 s: spent before trial 0 is handed out,
    # as a loaded machine's start-up can spend a budget of seconds.
    fake_clock(monkeypatch, 0.0)
    args = tune_args(tmp_path, data_dir, "--train-limit", "500")
    args += ["--max-trials", "2", "--max-epochs", "3", "--time-budget", "100"]
    assert main([*args, "--no-warm-start", "--quiet"]) == 0
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["STOPPED_EARLY"] and list(trials.epochs) == [1]
    assert list(pd.read_csv(tmp_path / "test_results.csv").trial_id) == [0]
    assert (
        "note: the time budget of 1m 40s was spent after 1 of 2 trials" in capsys.readouterr().out
    )


@pytest.mark.processes
def test_a_resume_with_a_larger_budget_goes_on(search_copy, data_dir, capsys):
    spent = json.loads((search_copy / "run.json").read_text())["search_seconds"]
    assert spent > 0
    # Trials in processes of their own: the budget reaches the trial process too.
    args = tune_args(
        search_copy, data_dir, "--max-trials", "3", "--max-epochs", "2", processes=True
    )
    assert main([*args, "--time-budget", f"{spent / 2}"]) == 0  # not a setting to match
    assert len(pd.read_csv(search_copy / "trials.csv")) == 2  # spent: no trial started
    assert "was spent after 2 of 3 trials" in capsys.readouterr().out
    assert main([*args, "--time-budget", "1h"]) == 0
    assert len(pd.read_csv(search_copy / "trials.csv")) == 3
    run = json.loads((search_copy / "run.json").read_text())
    # The spent run started no trial process, so it added (almost) nothing.
    assert run["search_seconds"] > run["search_seconds_before"] >= spent


def test_a_budget_without_max_trials_runs_trials_until_it_is_spent(
    tmp_path, data_dir, monkeypatch, capsys
):
    # Every reading of the clock moves it on 0.6 s: the 60 s budget ends after 100 readings,
    # more trials than the 10 a search without a budget runs. The search's start reads it
    # once, then each 1-epoch trial 9 times: the oracle handing it out, TimeBudgetStop at
    # fit's start and twice at the epoch's end, the epoch's time-left line thrice, run.json
    # and the progress line as it ends. Trial 10 is handed out at reading 91 (54.6 s), trial
    # 11 refused at reading 100 (60 s): 11 trials, the fewest that pass; a step of 0.66 s
    # would buy 10. (run.json's count adds a reading every 30 s of real time: trial 10 would
    # need 9 of them to be refused.)
    # Every trial random: what is checked is the count, and the Gaussian process's proposals
    # took half this test's time (2 s each); the default of 3 is checked below.
    seconds = iter(range(10_000))
    monkeypatch.setattr(budget, "clock", lambda: 0.6 * next(seconds))
    args = tune_args(tmp_path, data_dir, *SMALL, "--max-epochs", "1", "--top-n", "1")
    args += ["--initial-points", "20"]
    assert main([*args, "--time-budget", "60", "--no-warm-start", "--quiet"]) == 0
    trials = pd.read_csv(tmp_path / "trials.csv", dtype={"trial_id": str})
    assert len(trials) > 10
    assert list(trials.trial_id[:2]) == ["000", "001"]  # as wide as the cap of 999
    out = capsys.readouterr().out
    assert "budget:   as many trials of up to 1 epoch as the time budget buys" in out
    assert f"time budget of 1m was spent after {len(trials)} trials;" in out
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["config"]["max_trials"] is None


def test_without_a_budget_a_search_runs_the_course_s_ten_trials():
    config = TuneConfig(dataset="mnist")
    assert (config.trial_cap, config.until_budget, config.resolve().initial_points) == (
        10,
        False,
        3,
    )
    budgeted = TuneConfig(dataset="mnist", time_budget=600)
    assert (budgeted.trial_cap, budgeted.until_budget) == (999, True)
    assert budgeted.resolve().initial_points == 3  # not a share of the 999
    capped = TuneConfig(dataset="mnist", time_budget=600, max_trials=30)
    assert (capped.trial_cap, capped.until_budget, capped.resolve().initial_points) == (
        30,
        False,
        10,
    )


def test_no_trial_takes_more_than_its_share_of_the_budget(monkeypatch):
    ticks = iter(range(10_000))
    monkeypatch.setattr(budget, "clock", lambda: float(next(ticks)))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    stop = TimeBudgetStop(Budget(seconds=1000, spent_before=0, started=0))  # shares of 200 s
    model.fit(np.zeros((8, 2)), np.zeros(8), epochs=500, callbacks=[stop], verbose=0)
    assert 1 < stop.stopped_epoch < 200
    epoch = stop.stopped_epoch
    assert stop.describe() == (
        f"time budget: a trial's share, 1/5 of 16m 40s, used, stopped after epoch {epoch}"
    )
    assert TimeBudgetStop(Budget(1000, 0, 0), trials=2).share == 500  # --max-trials 2: half


def test_a_short_budget_trains_several_trials_however_long_the_first_would_run(
    tmp_path, data_dir, monkeypatch, capsys
):
    # A clock moving a second a reading: untouched, the warm start (EarlyStopping's patience
    # of 10, up to 100 epochs) would take the whole 60 s budget.
    seconds = iter(range(10_000))
    monkeypatch.setattr(budget, "clock", lambda: float(next(seconds)))
    args = tune_args(tmp_path, data_dir, *SMALL, "--max-epochs", "100", "--top-n", "1")
    assert main([*args, "--time-budget", "60", "--early-trial-stop", "off", "--quiet"]) == 0
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert len(trials) >= 3
    assert trials.reason[0].startswith("time budget: a trial's share, 1/5 of 1m, used")
    assert (trials.epochs < 100).all()
    # The last epoch's line knows the budget stopped the trial, though 100 epochs were allowed.
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith("epoch ") and "(id 000) |" in line]
    assert lines[-1].startswith(f"epoch {trials.epochs[0]}/100 (id 000)")
    assert "| trial left at most 0:00:00 |" in lines[-1]


def test_the_search_seconds_are_kept_up_to_date_while_trials_run(tmp_path, monkeypatch):
    # A kill mid-trial, even a SIGKILL, then loses at most one interval of the count.
    monkeypatch.setattr(budget, "clock", lambda: 1000.0)
    run = {"search_seconds_before": 50.0, "search_started": 900.0, "search_seconds": 50.0}
    (tmp_path / "run.json").write_text(json.dumps(run))

    def counted() -> float:
        return json.loads((tmp_path / "run.json").read_text())["search_seconds"]

    with budget.counting(tmp_path, every=0.01):
        for _ in range(6000):  # up to a minute, however loaded the machine
            if counted() != 50.0:
                break
            time.sleep(0.01)
    assert counted() == 150.0  # 50 before this run, 100 in it
