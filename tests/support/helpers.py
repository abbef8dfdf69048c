"""Helpers shared by the tests: tiny search arguments, CSV readers and replay checks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from hypermodels import space
from tuning.config import TuneConfig
from tuning.engine.search import make_tuner
from tuning.engine.stopping import AshaRule, MedianRule
from tuning.store.files import read_json

REPO = Path(__file__).resolve().parents[2]
# Quick trials of tune_args' mlp, 4 batches an epoch: with 2 epochs, a kill lands mid-search.
SMALL = ["--train-limit", "500", "--set", "batch_size=128"]
# The environment of a process that runs Keras on JAX (the backend is chosen once per
# process): the JAX searches, and process tests whose processes start faster under it.
JAX = {**os.environ, "KERAS_BACKEND": "jax"}


def tune_args(
    results_dir: Path,
    data_dir: Path,
    *extra: str,
    dataset: str = "mnist",
    hypermodel: str = "mlp",
    processes: bool = False,
) -> list:
    """CLI arguments of a tiny real search: few images, few epochs, float32, trials in-process.

    The precision is pinned so that no verdict depends on what `auto` picks on the machine
    running the tests; a test may pass another `--precision` in `extra` (the last wins).
    Trials run in the test's own process (`--in-process`), which saves each trial a fresh
    TensorFlow import; a test about trial processes asks for them with `processes=True`.
    The network is the mlp unless a test is about the cnn: every ranked trial is tested on
    10,000 images, which for the cnn costs several times its tiny training. Every epoch
    validates on the last 2,000 training images (`--val-size`), not the course's 10,000.
    """
    return [
        "tune",
        "--dataset",
        dataset,
        "--hypermodel",
        hypermodel,
        "--results-dir",
        str(results_dir),
        "--data-dir",
        str(data_dir),
        "--train-limit",
        "2000",
        "--val-size",
        "2000",
        "--top-n",
        "2",
        "--precision",
        "float32",
        *([] if processes else ["--in-process"]),
        *extra,
    ]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, to prove nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def read_csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"trial_id": str})


def trial_files(results: Path) -> dict[str, dict]:
    """Every saved trial: its trial.json state and the raw bytes of its state files."""
    trials = {}
    for path in sorted((results / "tuner").glob("trial_*/trial.json")):
        state = json.loads(path.read_text())
        record = path.with_name("record.json")
        trials[state["trial_id"]] = {
            "state": state,
            "bytes": path.read_bytes() + (record.read_bytes() if record.exists() else b""),
        }
    return trials


def assert_consistent(results: Path, max_trials: int, top_n: int = 2) -> None:
    """Exactly `max_trials` completed trials, and CSVs that say what the tuner state says."""
    trials = trial_files(results)
    assert len(trials) == max_trials
    assert {t["state"]["status"] for t in trials.values()} == {"COMPLETED"}
    table = read_csv(results / "trials.csv").set_index("trial_id")
    assert sorted(table.index) == sorted(trials)
    for trial_id, trial in trials.items():
        assert table.loc[trial_id, "status"] == trial["state"]["status"]
        assert table.loc[trial_id, "val_accuracy"] == pytest.approx(trial["state"]["score"])
    best = sorted(trials, key=lambda i: (-trials[i]["state"]["score"], int(i)))[:top_n]
    assert list(read_csv(results / "test_results.csv").trial_id) == best
    assert not list(results.rglob(".*.tmp"))


def assert_asha_replays(results: Path, rung_epochs: int, eta: int, max_epochs: int) -> None:
    """Replay the ASHA rungs trial by trial from history.csv: every decision must match."""
    trials, history = read_csv(results / "trials.csv"), read_csv(results / "history.csv")
    assert (trials.status == "STOPPED_EARLY").sum() >= 1
    ended: list[tuple] = []
    for trial in trials.itertuples():
        curve = tuple(history[history.trial_id == trial.trial_id].val_accuracy)
        expected = AshaRule(tuple(ended), rung_epochs=rung_epochs, eta=eta).describe(curve)
        assert (trial.status == "STOPPED_EARLY") == (expected is not None), trial
        assert trial.reason == expected if expected else len(curve) == max_epochs
        assert trial.val_accuracy == pytest.approx(max(curve))  # its best score is kept
        ended.append(curve)


def trials_in_training(results: Path, epochs: int = 1) -> list[str]:
    """Ids of the trials saved as running that have finished at least `epochs` epochs.

    A test that kills mid-trial waits for this, polling often: an epoch of the tiny searches
    takes a fraction of a second, and a trial process that merely exists may not have begun
    (or may have ended) its trial.
    """
    ids = []
    for path in sorted((results / "tuner").glob("trial_*/trial.json")):
        done = (read_json(path.with_name("progress.json")) or {}).get("epochs", 0)
        if '"status": "RUNNING"' in path.read_text() and done >= epochs:
            ids.append(path.parent.name.removeprefix("trial_"))
    return ids


def trial_processes(results: Path) -> list[str]:
    """Pids of `run-trial` processes working in `results`."""
    command = ["pgrep", "-f", f"run-trial {results} "]
    return subprocess.run(command, capture_output=True, text=True).stdout.split()


def assert_median_replays(results: Path, grace_epochs: int, max_epochs: int) -> None:
    """Replay the median rule trial by trial from history.csv: every decision must match."""
    trials, history = read_csv(results / "trials.csv"), read_csv(results / "history.csv")
    assert (trials.status == "STOPPED_EARLY").sum() >= 1
    finished: list[tuple] = []
    for trial in trials.itertuples():
        curve = tuple(history[history.trial_id == trial.trial_id].val_accuracy)
        expected = MedianRule(tuple(finished), grace_epochs=grace_epochs).describe(curve)
        assert (trial.status == "STOPPED_EARLY") == (expected is not None), trial
        if expected is None:  # ran to its end or to EarlyStopping
            assert len(curve) == max_epochs or trial.epochs < max_epochs
            finished.append(curve)
        else:
            assert trial.reason == expected and len(curve) < max_epochs
        assert trial.val_accuracy == pytest.approx(max(curve))  # its best score is kept


def data_error(call, *args) -> str:
    """The one-line message of the DataError `call(*args)` raises."""
    from tuning.errors import DataError

    with pytest.raises(DataError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


# Only l1 is searched: five configurations in all.
PINS = {**space.COURSE_VALUES["mnist"], "augment_factor": 0.0}
del PINS["l1"]


def tried_oracle(tmp_path: Path):
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
