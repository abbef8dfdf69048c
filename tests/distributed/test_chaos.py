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

from tuning.store.files import read_json

from helpers import SMALL, read_csv, trial_processes, tune_args

pytestmark = pytest.mark.processes  # tests about processes, starting their own

SEED = 27
TRIALS = 4
KILLS = 4  # at most; the chief is the second


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


def training(results: Path) -> bool:
    """Whether a trial saved as running has finished an epoch: it is training now."""
    for path in (results / "tuner").glob("trial_*/trial.json"):
        progress = read_json(path.with_name("progress.json")) or {}
        if b'"status": "RUNNING"' in path.read_bytes() and progress.get("epochs", 0) >= 1:
            return True
    return False


def test_random_kills_of_workers_trial_processes_and_the_chief_lose_nothing(tmp_path, data_dir):
    extra = ("--max-trials", str(TRIALS), "--max-epochs", "5", "--early-trial-stop", "off")
    args = tune_args(tmp_path, data_dir, *SMALL, *extra, processes=True)
    args += ["--workers", "2", "--save-every", "0", "--max-failures", str(TRIALS)]
    command = [sys.executable, "-m", "tuning", *args]
    chance = random.Random(SEED)
    chief = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    kept: dict[str, bytes] = {}  # trials ended before a kill: none may change afterwards
    outputs, kills = [], []
    # Each kill waits for a trial in training (an epoch done, not ended): however loaded the
    # machine, the kills land mid-trial, and the search cannot end before they are made.
    while len(kills) < KILLS and chief.poll() is None:
        time.sleep(chance.uniform(0.5, 2))
        if not training(tmp_path):
            continue
        kept.update(ended_trials(tmp_path))
        if len(kills) == 1:  # the chief itself, once: the same command resumes the search
            chief.kill()
            outputs.append(chief.communicate()[0])
            kills.append("chief")
            chief = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
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
