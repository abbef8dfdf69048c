"""The `tool` contender: `tune` without its warm start, read back from its folder."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.peers import REPO, TOOL_RULES, RunFailed, Task
from benchmarks.peers.runs import result_of
from tuning.layout import RECORD_FILE, TEST_RESULTS_CSV, TRIALS_CSV, TUNER_DIR
from tuning.store.files import read_json
from tuning.store.runinfo import RUN_FILE

# `tune`'s line for each finished trial (tuning.reports.progress.LINE).
PROGRESS_PREFIX = "trial "
# The settings by which the tool's contenders may differ (TOOL_RULES), kept in each result.
RULES = (
    "fidelity_gp",
    "gp_normal_scores",
    "gp_restart_seeds",
    "gp_rung_scores",
    "gp_shared_rung",
    "rung_epochs",
)
# A search with settings `tune` has no option for, run as a notebook runs it.
NOTEBOOK = "import json, sys, tuning\ntuning.tune(**json.loads(sys.argv[1]))\n"


def run_tool(task: Task, data_dir: Path, work: Path, log: Path, contender: str = "tool") -> dict:
    """Run `tune` without its warm start on the task; its result, read from its folder.

    Its files hold no trial's end time (trials.csv has each trial's training seconds, not
    when it ended, and a trial's process start-up overlaps the trial before): the end times
    are when `tune`'s line for each finished trial reached this process.

    Raises:
        RunFailed: `tune` failed.
    """
    launched = time.time()
    ended = stream_tune(tune_command(task, data_dir, work, contender), log, launched)
    seconds = time.time() - launched
    trials = read_rows(work / TRIALS_CSV)
    timeline = [
        [trial_end(work, t["trial_id"], ended, launched), float(t["val_accuracy"])]
        for t in trials
        if t["val_accuracy"]  # a failed trial has none
    ]
    tests = read_rows(work / TEST_RESULTS_CSV)
    run = read_json(work / RUN_FILE) or {}
    result = result_of(
        contender,
        task,
        sorted(timeline),
        len(trials),
        float(tests[0]["test_accuracy"]) if tests else None,
        seconds,
        run.get("training", {}),
    )
    # How its Gaussian process read the trials and where its rungs were, as the search saved it.
    return {**result, "rules": {name: run["config"][name] for name in RULES}}


def tune_command(task: Task, data_dir: Path, work: Path, contender: str) -> list[str]:
    """`python -m tuning tune` on the task, or, with the contender's own rules, `tuning.tune`.

    Both without the warm start and with the task's budget as the time budget. Unlike
    `tune`, the notebook's call does not start its first trial's process while it imports
    its own backend: its first trial starts a few seconds later.
    """
    rules = TOOL_RULES[contender]
    if not rules:
        command = [sys.executable, "-m", "tuning", "tune", *task.tune_args(data_dir)]
        return command + [
            *("--results-dir", str(work), "--no-warm-start"),
            *("--time-budget", str(task.budget)),
        ]
    options = {**task.tune_options(data_dir), "results_dir": str(work), "warm_start": False}
    options = {**options, "time_budget": task.budget, **rules}
    return [sys.executable, "-c", NOTEBOOK, json.dumps(options)]


def stream_tune(command: list[str], log: Path, launched: float) -> dict[str, float]:
    """Run `tune`, copying its output to `log`; when each trial's line came, by trial id.

    Raises:
        RunFailed: `tune` exited with a failure.
    """
    ended: dict[str, float] = {}
    with (
        log.open("w") as stream,
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            cwd=REPO,
        ) as process,
    ):
        for line in process.stdout:
            stream.write(line)
            if line.startswith(PROGRESS_PREFIX) and "(id " in line:
                trial_id = line.split("(id ", 1)[1].split(")", 1)[0]
                ended[trial_id] = round(time.time() - launched, 2)
    if process.returncode:
        raise RunFailed(f"tune exited with status {process.returncode}; see {log}")
    return ended


def trial_end(work: Path, trial_id: str, ended: dict[str, float], launched: float) -> float:
    """When a `tune` trial ended: its line's arrival, else when its record.json was written."""
    if trial_id in ended:
        return ended[trial_id]
    record = work / TUNER_DIR / f"trial_{trial_id}" / RECORD_FILE
    return round((record.stat().st_mtime if record.exists() else time.time()) - launched, 2)


def read_rows(path: Path) -> list[dict]:
    """A CSV's rows as dicts of strings, trial ids kept as written (`000`); none if missing."""
    if not path.exists():
        return []
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))
