"""Kills at any point and SIGTERM: the same command resumes the search without loss."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuning.cli.main import main
from tuning.store.lock import LOCK_FILE

from helpers import (
    REPO,
    SMALL,
    assert_consistent,
    trial_files,
    trial_processes,
    tune_args,
)

pytestmark = pytest.mark.processes  # tests about processes, starting their own

KILLER = REPO / "tests" / "support" / "killer.py"


@pytest.mark.parametrize(
    ("point", "count", "trials"),
    [
        # A weights file half-written: every trial saves its weights at least once (its
        # first epoch), so the third save comes in trial 2 at the latest.
        ("checkpoint", 3, 3),
        # The other points come in trial 0 or 1, or in the final reports: 2 trials will do.
        ("oracle", 3, 2),  # trial 0 saved as completed, oracle.json still lists it as running
        ("oracle", 5, 2),  # trial 1 saved as running, oracle.json does not know it yet
        ("report", 1, 2),  # every trial done, the final reports being written
    ],
)
def test_sigkill_at_any_point_resumes_without_loss(
    tmp_path, data_dir, capsys, point, count, trials
):
    extra = ("--max-trials", str(trials), "--max-epochs", "2")
    args = [*tune_args(tmp_path, data_dir, *extra), *SMALL]
    killed = subprocess.run(
        [sys.executable, str(KILLER), point, str(count), *args], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    finished = {
        i: t for i, t in trial_files(tmp_path).items() if t["state"]["status"] == "COMPLETED"
    }
    assert len(finished) < trials or point == "report"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "took over the lock of process" in out  # the killed run's lock, detected as stale
    assert_consistent(tmp_path, max_trials=trials)
    after = trial_files(tmp_path)
    for trial_id, trial in finished.items():  # not trained again: state and record untouched
        assert after[trial_id]["bytes"] == trial["bytes"]


def read_or(path: Path, default: str) -> str:
    """The text of `path`, or `default` while it does not exist."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return default


@pytest.mark.parametrize(
    "processes",
    [False, pytest.param(True, marks=pytest.mark.processes)],
    ids=["in-process", "process-per-trial"],
)
def test_sigterm_ends_with_a_resume_hint(tmp_path, data_dir, processes):
    args = tune_args(
        tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "50", processes=processes
    )
    args += SMALL
    search = subprocess.Popen(
        [sys.executable, "-m", "tuning", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    progress = tmp_path / "tuner" / "trial_0" / "progress.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not json.loads(read_or(progress, "{}")).get("epochs"):
        time.sleep(0.2)
    done = json.loads(progress.read_text())["epochs"]  # at least this many when it stops
    search.send_signal(signal.SIGTERM)
    _, err = search.communicate(timeout=60)
    assert search.returncode == 128 + signal.SIGTERM
    # One line that says what was kept and what was lost; run.json says so too.
    last = err.decode().strip().splitlines()[-1]
    story = re.fullmatch(
        # 30 s after it began (--save-every's default), a trial saves its state; under load
        # the first epoch may take that long.
        r"interrupted: trial 0 stopped after epoch (\d+) and (?:restarts from epoch 1|resumes "
        r"from epoch \d+(?: \(its state was last saved after epoch \d+\))?) on resume; "
        r"0 finished trials saved; run the same command to resume",
        last,
    )
    assert story and int(story.group(1)) >= done >= 1, last
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "interrupted"
    # trials.csv and the page say so too: the trial is no longer running.
    trials = (tmp_path / "trials.csv").read_text().splitlines()
    assert [row.split(",")[:2] for row in trials[1:]] == [["0", "INTERRUPTED"]]
    assert "status: interrupted" in (tmp_path / "report.html").read_text()
    assert (tmp_path / LOCK_FILE).read_text() == ""  # released, not left for takeover
    assert not trial_processes(tmp_path)  # no child left training
