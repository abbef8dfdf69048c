"""Retraining a search's best configuration: as a trial trains, and refused on bad input."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tuning.cli.main import main
from tuning.retrain.best import best_configuration, retrain

from helpers import snapshot


def test_retrain_with_the_trials_seed_reproduces_the_trial(search_copy):
    trials = pd.read_csv(search_copy / "trials.csv", dtype={"trial_id": str})
    tested = pd.read_csv(search_copy / "test_results.csv", dtype={"trial_id": str})
    with best_configuration(search_copy) as best:
        hp = best.hp.copy()
        result = retrain(
            best.config, best.experiment, hp, best.data, best.test, best.seed, epochs=2, verbose=0
        )
    trial = trials.set_index("trial_id").loc[best.trial_id]
    assert best.trial_id == tested.trial_id.iloc[0]
    # Same seed, values, data, callbacks and epochs as the trial: the same scores, up to the
    # thread-scheduling noise of floating-point sums. Another seed lands much further away.
    assert result["val_accuracy"] == pytest.approx(trial.val_accuracy, abs=0.01)
    assert result["test_accuracy"] == pytest.approx(tested.test_accuracy.iloc[0], abs=0.01)
    assert result["test_loss"] == pytest.approx(tested.test_loss.iloc[0], abs=0.02)
    assert (result["epochs"], result["best_epoch"]) == (trial.epochs, trial.best_epoch)
    assert result["seconds"] > 0


def fail_every_trial(results_dir) -> None:
    for path in (results_dir / "tuner").glob("trial_*/trial.json"):
        state = json.loads(path.read_text())
        state["status"] = "FAILED"
        path.write_text(json.dumps(state))


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("ablate", "has no completed trial to retrain"),
        ("confirm", "has no completed trial to retrain"),
        ("report", "has no finished trial yet (2 failed): nothing to report"),
    ],
)
def test_a_search_without_a_completed_trial_is_refused(search_copy, data_dir, command, why, capsys):
    fail_every_trial(search_copy)
    before = snapshot(search_copy)
    assert main([command, str(search_copy), "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {search_copy} {why}"
    assert snapshot(search_copy) == before


@pytest.mark.parametrize("command", ["ablate", "confirm"])
@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_a_folder_without_a_search_is_refused(tmp_path, command, folder, capsys):
    target = tmp_path / "results"
    if folder == "empty":
        target.mkdir()
    assert main([command, str(target)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {target} holds no search")
    assert list(tmp_path.rglob("*")) == ([target] if folder == "empty" else [])


@pytest.mark.parametrize("command", ["ablate", "confirm"])
def test_a_data_dir_without_the_dataset_is_refused(search_copy, tmp_path, command, capsys):
    # The search's own copy of its data serves first; without it, the source is read again.
    shutil.rmtree(search_copy / "data")
    before = snapshot(search_copy)
    assert main([command, str(search_copy), "--data-dir", str(tmp_path / "none")]) == 2
    message = f"error: data dir {tmp_path / 'none'} does not exist (or is not a folder)"
    assert capsys.readouterr().err.strip() == message
    assert snapshot(search_copy) == before


def best_trial(results_dir) -> tuple:
    """What retraining takes of a search's best trial: its id, seed, names, values, scores."""
    with best_configuration(results_dir) as best:
        return best.trial_id, best.seed, best.names, dict(best.hp.values), best.search


def test_reports_without_the_state_give_the_states_best_trial(search_copy, capsys):
    trial_id, seed, names, values, search = best_trial(search_copy)
    shutil.rmtree(search_copy / "tuner")
    read_back = best_trial(search_copy)
    assert "has no tuner/ state: trial" in capsys.readouterr().out
    assert read_back[:3] == (trial_id, seed, names)
    # Of the same types (an int stays an int, a choice of floats a float), and equal up to
    # the CSV's 10 significant digits.
    assert {k: type(v) for k, v in read_back[3].items()} == {k: type(v) for k, v in values.items()}
    assert read_back[3] == pytest.approx(values, rel=1e-9)
    assert read_back[4] == pytest.approx(search, rel=1e-9)


@pytest.mark.parametrize("command", ["ablate", "confirm"])
def test_reports_without_test_results_are_refused(search_copy, command, capsys):
    shutil.rmtree(search_copy / "tuner")
    (search_copy / "test_results.csv").unlink()
    before = snapshot(search_copy)
    assert main([command, str(search_copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {search_copy} holds a search's reports but not its tuner/")
    assert snapshot(search_copy) == before


@pytest.mark.parametrize("command", ["ablate", "confirm"])
def test_reports_of_a_name_the_code_no_longer_declares_are_refused(
    search_copy, data_dir, command, capsys
):
    shutil.rmtree(search_copy / "tuner")
    tested = search_copy / "test_results.csv"
    tested.write_text(tested.read_text().replace(",dropout,", ",drop_rate,", 1))
    before = snapshot(search_copy)
    assert main([command, str(search_copy), "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {tested}: the search's code no longer declares drop_rate; restore that code, "
        "or run the search again"
    )
    assert snapshot(search_copy) == before
