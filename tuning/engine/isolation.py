"""Each trial in a fresh process, so memory cannot grow from trial to trial.

TensorFlow never returns the memory of a traced training function, even after
`clear_session` and garbage collection (keras-team/keras#17458, tensorflow#61791): a plain
Keras loop that builds and fits one model after another grows by 10 to 50 MiB per model,
for good. The only bound is a process per trial. `tune` holds the lock and the reports; for
each trial it starts `python -m tuning run-trial` (ahead of time: `tuning.engine.spawn`), which
reloads the saved search, runs the one trial the oracle hands out, saves it and exits. The
resume machinery that makes a kill harmless makes this exact too.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
from collections.abc import Callable

from tuning.config import TuneConfig
from tuning.engine import spawn
from tuning.engine.failures import check_failures, trial_ended
from tuning.engine.search import make_tuner
from tuning.engine.tuner import RecordingTuner
from tuning.errors import SearchStopped, TuningError
from tuning.trialstate import TrialState

# run-trial's exit statuses, apart from TuningError's 2 and a crash's 1.
TRIAL_ENDED = 0  # one trial ran; the search may have more
SEARCH_OVER = 3  # the oracle handed out no trial: max_trials reached or the space exhausted
SEARCH_STOPPED = 4  # the last trials all failed
PR_SET_PDEATHSIG = 1


def run_trials_in_children(
    config: TuneConfig,
    on_killed: Callable[[TuneConfig, str], None],
    from_chief: bool = False,
) -> None:
    """Start `run-trial` processes one after another until the oracle has no trial left.

    While one trains, the next is started ahead (`tuning.engine.spawn`), so its imports overlap
    the training. A child killed by a signal is handed to `on_killed` (for
    example `fail_killed_trials`) with the signal's name. A worker's trials come `from_chief`,
    whose oracle must hear the worker ask to end the search, so it always starts the
    child that asks.

    Raises:
        SearchStopped: a child stopped the search after too many failed trials.
        TuningError: a child failed or was killed; the search resumes with the same command.
    """
    try:
        while from_chief or spawn.trials_left(config):
            child = spawn.take(config)
            if not from_chief:
                spawn.start_ahead(config, starting=1)
            try:
                status = child.wait()
            except BaseException:  # Ctrl-C, SIGTERM: the trial stops with tune
                spawn.kill(child)
                raise
            if status == TRIAL_ENDED:
                continue
            if status == SEARCH_OVER:
                return
            if status == SEARCH_STOPPED:
                raise SearchStopped("the search stopped after too many consecutive failed trials")
            if status in (128 + signal.SIGINT, 128 + signal.SIGTERM):
                raise KeyboardInterrupt
            if status < 0:
                on_killed(config, signal.Signals(-status).name)
                continue
            raise TuningError(
                f"the process running a trial ended with exit status {status}; finished "
                "trials are saved, run the same command to resume"
            )
    finally:
        spawn.drop_ahead()


def fail_killed_trials(
    config: TuneConfig, signal_name: str, after_trial: Callable[[RecordingTuner], None]
) -> None:
    """Record the trial whose process was killed as FAILED, so the search goes on.

    `after_trial` is what the search does after every trial (the reports, the progress
    line): the killed process could not.

    On a CPU machine the usual killer is the kernel's out-of-memory killer; run again, the
    trial would only be killed again.

    Raises:
        SearchStopped: that made too many consecutive failures.
    """
    tuner = make_tuner(dataclasses.replace(config, overwrite=False))
    # KerasTuner's own closing display of a trial needs the start time that the trial's
    # process noted only when it was not --quiet; the lines below say everything anyway.
    tuner.oracle.verbose = 0
    reason = killed_reason(signal_name)
    running = [t for t in tuner.oracle.trials.values() if t.status == TrialState.RUNNING]
    for trial in running:
        tuner.save_record(trial.trial_id, {"reason": reason})
        tuner.oracle.fail_trial(trial.trial_id, reason)
        trial_ended(tuner, trial, after_trial, config.max_failures)
    check_failures(tuner.oracle, config.max_failures, reason)


def killed_reason(signal_name: str) -> str:
    """The reason recorded for a trial whose process was killed."""
    return f"its process was killed by {signal_name} (out of memory?)"


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when `parent` dies, so no orphan trains unlocked.

    Raises:
        TuningError: `parent` is already gone.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        raise TuningError(f"run-trial: parent process {parent} is gone")
