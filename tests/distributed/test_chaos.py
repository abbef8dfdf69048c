"""Seeded chaos: kills at random points of a distributed search; every trial ends once."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import JAX, SMALL, read_csv, trial_processes, trials_in_training, tune_args

pytestmark = pytest.mark.processes  # tests about processes, starting their own

SEED = 27
TRIALS = 4
KILLS = 4  # at most; the chief is the second
EPOCHS = 12  # EarlyStopping's patience is 10: every trial trains them all, a window for the kills
# What is killed is processes, whatever trains in them: under JAX, each of the dozen or so
# processes of the search (two chiefs, the workers, the trials' own) starts in 4 s of CPU
# instead of TensorFlow's 6 (docs/development.md). The distributed search under TensorFlow
# is tests/distributed/test_chief.py's. (The search's environment: helpers.JAX.)


def workers(results: Path) -> list[str]:
    """Pids of the local workers serving the search in `results`."""
    found = subprocess.run(["pgrep", "-f", f"worker {results} "], capture_output=True, text=True)
    return found.stdout.split()


def ended_trials(results: Path) -> dict[str, bytes]:
    """The trial.json of every trial that has ended, by trial folder."""
    ended = {}
    for path in sorted((results / "tuner").glob("trial_*/trial.json")):
        text = path.read_bytes()
        if b'"status": "RUNNING"' not in text:
            ended[path.parent.name] = text
    return ended


def test_random_kills_of_workers_trial_processes_and_the_chief_lose_nothing(tmp_path, data_dir):
    extra = ("--max-trials", str(TRIALS), "--max-epochs", str(EPOCHS), "--early-trial-stop", "off")
    args = tune_args(tmp_path, data_dir, *SMALL, *extra, processes=True)
    args += ["--workers", "2", "--save-every", "0", "--max-failures", str(TRIALS)]
    command = [sys.executable, "-m", "tuning", *args]
    chance = random.Random(SEED)
    run = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=JAX)
    chief = subprocess.Popen(command, **run)
    kept: dict[str, bytes] = {}  # trials ended before a kill: none may change afterwards
    outputs, kills = [], []
    # Each kill waits for a trial in training, a random 1 to 3 epochs in, and polls often: an
    # epoch of this tiny search takes a fraction of a second, and a sleep of seconds between
    # looks let a fast machine end the search before the chief was killed (CI, stop 31).
    wait_epochs = chance.randint(1, 3)
    while len(kills) < KILLS and chief.poll() is None:
        time.sleep(0.05)
        if not trials_in_training(tmp_path, wait_epochs):
            continue
        wait_epochs = chance.randint(1, 3)
        kept.update(ended_trials(tmp_path))
        if len(kills) == 1:  # the chief itself, once: the same command resumes the search
            chief.kill()
            outputs.append(chief.communicate()[0])
            kills.append("chief")
            chief = subprocess.Popen(command, **run)
            continue
        victims = [("worker", p) for p in workers(tmp_path)]
        victims += [("trial process", p) for p in trial_processes(tmp_path)]
        if victims:
            kind, pid = chance.choice(sorted(victims))
            os.kill(int(pid), signal.SIGKILL)
            kills.append(kind)
    out = chief.communicate(timeout=300)[0]
    outputs.append(out)
    assert chief.returncode == 0, out[-3000:]
    assert "chief" in kills and len(kills) >= 2, kills
    trials = read_csv(tmp_path / "trials.csv")
    assert sorted(trials.trial_id.astype(str)) == [str(i) for i in range(TRIALS)]
    assert set(trials.status) <= {"COMPLETED", "FAILED"}
    # A killed trial process fails its trial (out of memory, most often); killed workers
    # and the chief cost no trial.
    killed = "its process was killed by SIGKILL (out of memory?)"
    assert set(trials.reason[trials.status == "FAILED"]) <= {killed}
    # Each trial ended exactly once: one progress line per trial id, over every chief run.
    ends = re.findall(r"^trial \d+/\d+ \(id (\d+)\) \|", "".join(outputs), re.M)
    assert sorted(ends, key=int) == [str(i) for i in range(TRIALS)], (kills, ends)
    # Nothing that had ended was touched again.
    after = ended_trials(tmp_path)
    assert {name: after.get(name) for name in kept} == kept
    for trial in trials.itertuples():
        folder = tmp_path / "tuner" / f"trial_{trial.trial_id}"
        assert not (folder / "resume").exists()  # no saved state outlives its trial
        if trial.status == "COMPLETED":
            assert (folder / "record.json").exists()
    assert not workers(tmp_path) and not trial_processes(tmp_path)
