"""Starting trial processes: their environment, and starting one ahead of its turn.

A trial process spends seconds importing TensorFlow before it can train. Started ahead, with
`run-trial --wait`, it imports while `tune` itself gets ready (its own import, the lock,
run.json) or while the trial before it trains, then waits for one line on its stdin: `go`
runs the next trial, anything else (or the pipe closing, as when `tune` dies) ends it
without touching the search. This module imports no TensorFlow, so `tune` can start the
first trial's process before importing it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tuning
from tuning.config import TuneConfig
from tuning.engine.budget import search_budget
from tuning.layout import ORACLE_FILE, TUNER_DIR
from tuning.store.files import read_json

GO = "go"
# The process started ahead and the results dir it was started for, until taken or dropped.
_ahead: tuple[Path, subprocess.Popen] | None = None


def start(config: TuneConfig, wait: bool = False) -> subprocess.Popen:
    """Start a `run-trial` process for the search in `config.results_dir`.

    In its own session, so Ctrl-C reaches only `tune`, which then stops it and says so once.
    """
    command = [sys.executable, "-m", "tuning", "run-trial", str(config.results_dir)]
    command += ["--parent", str(os.getpid()), *(["--wait"] if wait else [])]
    return subprocess.Popen(
        command,
        start_new_session=True,
        env=child_environment(config.training),
        stdin=subprocess.PIPE if wait else None,
        text=True,
    )


def start_ahead(config: TuneConfig, starting: int = 0) -> None:
    """Start the next trial's process now, if a trial may be left once `starting` more run."""
    global _ahead
    if _ahead is None and trials_left(config, starting):
        _ahead = (config.results_dir, start(config, wait=True))


def start_ahead_of_tune(config: TuneConfig) -> None:
    """Start the first trial's process as `tune` begins, where trials run in processes.

    Not in a distributed search: there the workers run the trials (KerasTuner's
    KERASTUNER_* variables, or --workers), nor with --in-process. With --overwrite the
    saved state is about to go, so a trial is left whatever it says.
    """
    global _ahead
    distributed = config.workers is not None or (config.trials_per_device or 1) > 1
    distributed = distributed or any(k.startswith("KERASTUNER_") for k in os.environ)
    if _ahead is not None or config.in_process or distributed:
        return
    try:
        if config.overwrite or trials_left(config):
            _ahead = (config.results_dir, start(config, wait=True))
    except OSError:  # the results dir is no folder: tune says so, with its own words
        return


def take(config: TuneConfig) -> subprocess.Popen:
    """The process started ahead for this search, told to go; else a new one."""
    global _ahead
    if _ahead is None or _ahead[0] != config.results_dir:
        drop_ahead()
        return start(config)
    (_, child), _ahead = _ahead, None
    release(child, GO)
    return child


def release(child: subprocess.Popen, line: str) -> None:
    """Tell a waiting process to go, or (any other line) to end; it may already be gone."""
    try:
        child.stdin.write(line + "\n")
        child.stdin.close()
    except BrokenPipeError:
        pass


def drop_ahead() -> None:
    """End the process started ahead, if any, and reap it: the search needs it no more."""
    global _ahead
    ahead, _ahead = _ahead, None
    if ahead is not None:
        release(ahead[1], "stop")
        ahead[1].wait()


def kill(child: subprocess.Popen) -> None:
    """Kill a trial process and reap it."""
    child.kill()
    child.wait()


def released() -> bool:
    """In a process started ahead: wait for `tune`'s line; whether it says go."""
    return sys.stdin.readline().strip() == GO


def trials_left(config: TuneConfig, starting: int = 0) -> bool:
    """Whether the saved search may hand out another trial, read from its saved state.

    False only when it cannot: every trial of `trial_cap` started (counting `starting`,
    those being started now) and none is running or waiting to run again, or the time
    budget is spent. A process started then would only learn that the search is over, at
    the price of a TensorFlow start-up.
    """
    state = read_json(config.results_dir / TUNER_DIR / ORACLE_FILE)
    if state is None or state.get("ongoing_trials") or state.get("retry_queue"):
        return True
    budget = search_budget(config.time_budget, config.results_dir)
    if budget is not None and budget.over():
        return False
    return len(state.get("start_order", [])) + starting < config.trial_cap


def child_environment(training: str) -> dict[str, str]:
    """The environment for a trial process: TensorFlow's own defaults if plain."""
    return tensorflow_environment(None if training == "plain" else "1")


def tensorflow_environment(onednn: str | None) -> dict[str, str]:
    """The environment for a process whose TensorFlow gets oneDNN `onednn`.

    TensorFlow reads both switches once, at import, so the process must get them from its
    start. `onednn` "1" keeps `tuning`'s fast setting (oneDNN and one inter-op thread), "0"
    turns oneDNN off, None leaves both to TensorFlow. A switch the user set always wins.
    """
    env = dict(os.environ)
    if tuning.USER_ONEDNN is None:
        if onednn is None:
            env.pop(tuning.ONEDNN_ENV, None)
        else:
            env[tuning.ONEDNN_ENV] = onednn
    if tuning.USER_INTEROP is None and onednn != "1":
        env.pop(tuning.INTEROP_ENV, None)
    return env
