"""A fresh process per trial: same trials as in one process, flat memory, no orphans, no litter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import tuning
from hypermodels import space
from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.engine import spawn
from tuning.engine.spawn import child_environment, tensorflow_environment

from helpers import JAX, SMALL, read_csv, trial_processes, trials_in_training, tune_args

pytestmark = pytest.mark.processes  # tests about processes, starting their own

# The kill tests' searches run under JAX: what they check is processes, whatever trains in
# them, and a JAX process starts in 4 s of CPU instead of TensorFlow's 6
# (docs/development.md). The comparison with one process and the memory test stay on
# TensorFlow, the backend most users train with. (The environment: helpers.JAX.)


def test_a_process_per_trial_runs_the_same_trials_as_one_process(tmp_path, data_dir, monkeypatch):
    started = count_trial_processes(monkeypatch)
    temp = tmp_path / "temp"  # the trial processes' temp dir
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    frames = []
    for processes in (False, True):
        results = tmp_path / ("many" if processes else "one")
        args = tune_args(
            results, data_dir, "--max-trials", "3", "--max-epochs", "1", processes=processes
        )
        assert main([*args, "--train-limit", "500", "--top-n", "1"]) == 0  # no test score read
        frames.append(read_csv(results / "trials.csv"))
    names = list(space.NAMES)
    pd.testing.assert_frame_equal(frames[0][names], frames[1][names])
    assert (frames[0].val_accuracy - frames[1].val_accuracy).abs().max() < 0.01
    # One process per trial, none more, each started while the trial before it trained.
    assert started == [0, 0, 1]
    assert not trial_processes(tmp_path / "many")
    # Nothing left in the temp dir: autograph's source files go as the process exits.
    assert not list(temp.iterdir())


def test_memory_does_not_grow_from_trial_to_trial(tmp_path, data_dir):
    # Every trial the same work: only dropout is searched, all trials random (no GP fit in
    # later ones). Each runs in its own process (the default), so its record holds its peak.
    # Its record is saved before the trial may be scored on test, so --top-n 1 (fewer cnn
    # test evaluations) and a small validation set change no peak's meaning.
    pins = ["augment_factor=0.05", "l1=0", "l2=0", "learning_rate=0.001", "batch_size=64"]
    args = tune_args(
        tmp_path,
        data_dir,
        "--max-trials",
        "3",
        "--initial-points",
        "3",
        hypermodel="cnn",
        processes=True,
    )
    args += ["--max-epochs", "1", "--top-n", "1", "--val-size", "256"]
    args += ["--train-limit", "256", *(f"--set={pin}" for pin in pins)]
    assert main(args) == 0
    records = [
        json.loads(p.read_text()) for p in sorted(tmp_path.glob("tuner/trial_*/record.json"))
    ]
    peaks = [r["peak_rss_mib"] for r in records]
    assert len(peaks) == 3
    # In one process the peak climbs ~45 MiB per cnn trial (TensorFlow keeps every traced
    # training function: keras-team/keras#17458), ~90 MiB over these three; here it must
    # stay flat.
    assert max(peaks) - min(peaks) < 40, peaks


def test_killing_tune_kills_its_trial_process(tmp_path, data_dir):
    args = [
        *tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "50", processes=True),
        *SMALL,
    ]
    command = [sys.executable, "-m", "tuning", *args]
    search = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=JAX)
    deadline = time.monotonic() + 120
    while not trial_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert trial_processes(tmp_path)
    search.send_signal(signal.SIGKILL)  # no handler runs: the kernel must end the child
    search.wait()
    deadline = time.monotonic() + 30
    while trial_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not trial_processes(tmp_path)


def test_a_trial_whose_process_is_killed_fails_and_the_search_goes_on(tmp_path, data_dir):
    # On a CPU machine the kernel's out-of-memory killer is what kills a trial's process;
    # running that trial again would only get it killed again.
    args = [
        *tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "12", processes=True),
        *SMALL,
    ]
    command = [sys.executable, "-m", "tuning", *args, "--quiet"]
    search = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=JAX)
    # Trial 0 in training: its folder alone did not say its process had begun it, nor that it
    # had not ended yet, and under load the kill missed (12 epochs: a window for it).
    deadline = time.monotonic() + 120
    while not trials_in_training(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Every trial process of the search: the one running trial 0, and the next one, started
    # ahead and waiting, which the search replaces unseen.
    for child in trial_processes(tmp_path):
        os.kill(int(child), signal.SIGKILL)
    out, _ = search.communicate(timeout=300)
    assert search.returncode == 0
    assert "trial 1/2 (id 0) | val_accuracy FAILED | best - |" in out  # its progress line too
    trials = read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["FAILED", "COMPLETED"]
    assert trials.reason[0] == "its process was killed by SIGKILL (out of memory?)"
    assert list(read_csv(tmp_path / "test_results.csv").trial_id) == ["1"]


def test_a_process_started_ahead_ends_untouched_unless_told_to_go(tmp_path, data_dir):
    results = tmp_path / "search"
    config = TuneConfig(dataset="mnist", results_dir=results, data_dir=data_dir)
    for line in ("stop", None):  # told to stop, or tune gone (its pipe closed)
        child = spawn.start(config, wait=True)
        if line:
            spawn.release(child, line)
        else:
            child.stdin.close()
        assert child.wait(timeout=120) == 3  # SEARCH_OVER: it ran nothing
    assert not results.exists()


def test_a_refused_tune_leaves_no_process_waiting(search_copy, data_dir, tmp_path):
    # The first trial's process starts before tune finds the resume refused.
    args = tune_args(
        search_copy, data_dir, "--max-trials", "3", "--max-epochs", "2", processes=True
    )
    assert main([*args, "--no-warm-start"]) == 2
    assert not trial_processes(search_copy)
    # A search in this process afterwards runs its own trial, not with that process.
    other = [
        *tune_args(
            tmp_path / "other", data_dir, "--max-trials", "1", "--max-epochs", "1", processes=True
        )
    ]
    assert main([*other, *SMALL]) == 0
    assert list(read_csv(tmp_path / "other" / "trials.csv").status) == ["COMPLETED"]


def test_every_process_of_a_search_lets_gpu_memory_grow(monkeypatch):
    # tune's own process (it evaluates), then what its trials and bench runs start with.
    assert os.environ[tuning.GPU_GROWTH_ENV] == "true"
    for training in ("fast", "plain"):
        assert child_environment(training)[tuning.GPU_GROWTH_ENV] == "true"
    assert tensorflow_environment("0")[tuning.GPU_GROWTH_ENV] == "true"
    monkeypatch.setenv(tuning.GPU_GROWTH_ENV, "false")  # a user's own choice stays
    tuning._let_gpu_memory_grow()
    assert child_environment("fast")[tuning.GPU_GROWTH_ENV] == "false"


def count_trial_processes(monkeypatch) -> list[int]:
    """Record each `run-trial` process tune starts: how many trials had ended by then.

    They still run for real.
    """
    started, real_start = [], spawn.start

    def start(config, *args, **kwargs):
        started.append(len(list((config.results_dir / "tuner").glob("trial_*/record.json"))))
        return real_start(config, *args, **kwargs)

    monkeypatch.setattr(spawn, "start", start)
    return started


def test_no_process_starts_only_to_find_the_search_over(search_copy, data_dir, monkeypatch):
    started = count_trial_processes(monkeypatch)
    args = tune_args(
        search_copy, data_dir, "--max-trials", "3", "--max-epochs", "2", processes=True
    )
    assert main(args) == 0  # one more trial: one process, none after it
    assert len(started) == 1
    assert main(args) == 0  # finished: none at all
    assert len(started) == 1
