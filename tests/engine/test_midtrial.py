"""A trial killed mid-way resumes after its last saved epoch, as if it had never stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
from pandas import read_csv

from tuning.cli.main import main
from tuning.engine import midtrial, search

from helpers import REPO, SMALL, tune_args

KILLER = REPO / "tests" / "support" / "killer.py"
BATCHES = 4  # an epoch of SMALL's 500 images in batches of 128


def killed_at_batch(batch: int, args: list) -> None:
    """Run the search and SIGKILL it after its `batch`th training batch."""
    killed = subprocess.run(
        [sys.executable, str(KILLER), "batch", str(batch), *args], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]


def history(results) -> np.ndarray:
    """history.csv's numbers, epoch by epoch."""
    return read_csv(results / "history.csv").drop(columns="trial_id").to_numpy(float)


@pytest.mark.processes
def test_a_killed_trial_goes_on_after_its_last_saved_epoch_with_the_same_result(
    tmp_path, data_dir, capsys
):
    def args(folder):
        extra = ("--max-trials", "2", "--max-epochs", "6", "--save-every", "0")
        return [*tune_args(tmp_path / folder, data_dir, *extra), *SMALL]

    assert main(args("whole")) == 0
    killed_at_batch(9 * BATCHES + 2, args("cut"))  # trial 1, epoch 4: epochs 1 to 3 saved
    state = json.loads((tmp_path / "cut/tuner/trial_1/resume/state.json").read_text())
    assert state["epoch"] == [0, 1, 2]
    assert [p.name for p in (tmp_path / "cut/tuner/trial_1/resume").glob("*.h5")] == [
        "epoch-3.weights.h5"  # one state: the older weights went as the newer came
    ]
    # report, on the killed search, tells the truth of its state
    assert main(["report", str(tmp_path / "cut")]) == 0
    assert "\n1,INTERRUPTED," in (tmp_path / "cut/trials.csv").read_text()
    assert "status: interrupted (killed" in (tmp_path / "cut/report.html").read_text()
    capsys.readouterr()

    assert main(args("cut")) == 0
    assert "trial 1 resumes after epoch 3, from its saved state" in capsys.readouterr().out
    # No gap, no epoch twice, and the same numbers: the batches, dropout's draws, Adam's
    # moments, the learning rate and the callbacks' counters all went on where they were.
    whole, cut = history(tmp_path / "whole"), history(tmp_path / "cut")
    assert list(cut[:, 0]) == [1, 2, 3, 4, 5, 6] * 2
    np.testing.assert_allclose(cut, whole, rtol=1e-5, atol=1e-6)
    record = json.loads((tmp_path / "cut/tuner/trial_1/record.json").read_text())
    assert record["resumed_after_epoch"] == 3
    assert not (tmp_path / "cut/tuner/trial_1/resume").exists()  # gone once the trial ended


@pytest.mark.processes
def test_a_finished_execution_is_not_trained_again(tmp_path, data_dir, capsys):
    extra = ("--max-trials", "1", "--max-epochs", "3", "--executions-per-trial", "2")
    args = [*tune_args(tmp_path, data_dir, *extra, "--save-every", "0"), *SMALL]
    killed_at_batch(4 * BATCHES + 2, args)  # execution 2, epoch 2
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "trial 0 resumes after epoch 1, from its saved state" in out
    assert "Epoch 1/3" not in out  # neither execution trains its first epoch again
    assert out.count("Epoch 3/3") == 1


def test_a_state_is_read_only_for_its_own_trial_values_and_format(tmp_path):
    resume = midtrial.TrialResume(tmp_path, "3", {"dropout": 0.5}, every=0)
    resume.write({"execution": 1, "epoch": [], "history": {}, "weights": None})
    assert midtrial.load_state(tmp_path / midtrial.STATE_DIR, "3", {"dropout": 0.5})
    assert midtrial.load_state(tmp_path / midtrial.STATE_DIR, "3", {"dropout": 0.4}) is None
    assert midtrial.load_state(tmp_path / midtrial.STATE_DIR, "4", {"dropout": 0.5}) is None
    state = tmp_path / midtrial.STATE_DIR / midtrial.STATE_FILE
    state.write_text(state.read_text().replace('"format": 1', '"format": 0'))
    assert midtrial.load_state(tmp_path / midtrial.STATE_DIR, "3", {"dropout": 0.5}) is None
    midtrial.discard(tmp_path)
    assert not (tmp_path / midtrial.STATE_DIR).exists()


class CutAfter(keras.callbacks.Callback):
    """Ends fit as a kill would, after epoch `last` (0-based) and the saves before it."""

    def __init__(self, last: int):
        super().__init__()
        self.last = last

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == self.last:
            raise KeyboardInterrupt


@pytest.mark.parametrize("passes_initial_epoch", [True, False], ids=["keras-fit", "own-fit"])
def test_a_fit_that_drops_initial_epoch_trains_again_instead_of_renumbering(
    tmp_path, capsys, passes_initial_epoch
):
    # A user HyperModel's own fit may call model.fit without the initial_epoch it was given:
    # the saved state would then go on under epochs 1, 2, ... again. It trains afresh, saying so.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)), rng.integers(0, 3, 64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    data = {"x": x, "y": y, "epochs": 4, "verbose": 0}
    cut = midtrial.TrialResume(tmp_path, "0", {}, every=0)
    with pytest.raises(KeyboardInterrupt):
        cut.fit(model.fit, {**data, "callbacks": [CutAfter(2)]})
    assert midtrial.saved_epochs(tmp_path) == 2  # saved at epoch 2's beginning

    def own_fit(**kwargs):
        if not passes_initial_epoch:
            kwargs.pop("initial_epoch", None)
        return model.fit(**kwargs)

    history = midtrial.TrialResume(tmp_path, "0", {}, every=0).fit(own_fit, dict(data))
    assert history.epoch == [0, 1, 2, 3] and len(history.history["loss"]) == 4
    said = capsys.readouterr().out
    if passes_initial_epoch:
        assert "trial 0 resumes after epoch 2, from its saved state" in said
    else:
        assert "trial 0 trains again from epoch 1: its fit began there" in said


class AtEpochEnd(keras.callbacks.Callback):
    """Runs `act` after epoch `epoch` (0-based): another run's doing, in the middle of fit."""

    def __init__(self, epoch: int, act):
        super().__init__()
        self.epoch, self.act = epoch, act

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == self.epoch:
            self.act()


@pytest.mark.parametrize("then", ["resumed elsewhere", "ended"])
@pytest.mark.parametrize("every", [0, 1e9], ids=["saving", "between-saves"])
def test_a_run_that_lost_its_trial_stops_and_writes_nothing_more(
    tmp_path, monkeypatch, then, every
):
    # A distributed worker the chief took for lost may still be training while another
    # worker resumes its trial, or after the trial ended.
    monkeypatch.setattr(midtrial, "HOLD_CHECK_SECONDS", 0.0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)), rng.integers(0, 3, 64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    older = midtrial.TrialResume(tmp_path, "0", {}, every=every)
    newer = []
    take = {
        "resumed elsewhere": lambda: newer.append(midtrial.TrialResume(tmp_path, "0", {}, 0)),
        "ended": lambda: midtrial.discard(tmp_path),
    }[then]
    fit = {"x": x, "y": y, "epochs": 5, "batch_size": 16, "verbose": 0}
    with pytest.raises(midtrial.TrialTakenOver, match="trial 0 stopped here"):
        older.fit(model.fit, {**fit, "callbacks": [AtEpochEnd(1, take)]})
    # Before its next save, or else at its next batch: 2 epochs of 4 batches, and 1.
    assert model.optimizer.iterations.numpy() == 2 * 4 + (every > 0)
    if then == "ended":
        assert not (tmp_path / midtrial.STATE_DIR).exists()  # not brought back
    else:
        assert midtrial.saved_epochs(tmp_path) == (every == 0)  # before the takeover only
        assert newer[0].holds() and not older.holds()


def test_a_trial_taken_over_fails_in_the_older_run_without_its_record(
    tmp_path, data_dir, monkeypatch
):
    monkeypatch.setattr(midtrial, "HOLD_CHECK_SECONDS", 0.0)
    holder = tmp_path / "tuner" / "trial_0" / midtrial.STATE_DIR / midtrial.HOLDER_FILE
    taken = AtEpochEnd(0, lambda: holder.write_text("a newer run's token"))
    real_callbacks = search.training_callbacks
    monkeypatch.setattr(search, "training_callbacks", lambda *a: [*real_callbacks(*a), taken])
    args = tune_args(tmp_path, data_dir, "--max-trials", "1", "--max-epochs", "3")
    assert main([*args, *SMALL]) == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["FAILED"]
    assert "trial 0 stopped here: another run holds it now" in trials.reason[0]
    assert not (tmp_path / "tuner" / "trial_0" / "record.json").exists()
    assert not holder.parent.exists()  # the trial ended: its state went
