"""Failed trials: said once on the console, counted, and the search stopped after too many.

Every way of running trials ends one through `trial_ended`: a trial in this process
(`RecordingTuner.on_trial_end`), one whose process was killed (`tuning.engine.isolation`,
a distributed worker) and a worker's trial at the chief (`tuning.distributed.chief`).
"""

from __future__ import annotations

from collections.abc import Callable

import keras_tuner as kt

from tuning.errors import SearchStopped
from tuning.trialstate import TrialState

FAILED = TrialState.FAILED


def failure_reason(trial: kt.engine.trial.Trial, record: dict) -> str | None:
    """Why a trial failed: its record's reason, else the last line of KerasTuner's traceback."""
    if record.get("reason"):
        return record["reason"]
    lines = (trial.message or "").strip().splitlines()
    return lines[-1] if lines else None


def trial_ended(
    tuner: kt.Tuner,
    trial: kt.engine.trial.Trial,
    after_trial: Callable[[kt.Tuner], None] | None,
    max_failures: int | None,
) -> None:
    """Say a failure, run the after-trial hook, then count the failures in a row.

    `tuner` is a `tuning.engine.tuner.RecordingTuner` (which imports this module), holding
    the trial's record. A distributed worker passes no hook and no limit: the chief does
    both for every worker.

    Raises:
        SearchStopped: the last `max_failures` trials all failed.
    """
    reason = failure_reason(trial, tuner.load_record(trial.trial_id))
    if trial.status == FAILED:
        print(f"trial {trial.trial_id} failed: {reason}", flush=True)
    if after_trial is not None:
        after_trial(tuner)
    if max_failures is not None:
        check_failures(tuner.oracle, max_failures, reason)


def check_failures(oracle: kt.Oracle, limit: int, reason: str | None) -> None:
    """Stop the search when the last `limit` trials all failed.

    Raises:
        SearchStopped: naming the count and the last trial's reason.
    """
    failed = trailing_failures(oracle)
    if failed >= limit:
        raise SearchStopped(
            f"the search stopped after {failed} consecutive failed trials (last: {reason})"
        )


def trailing_failures(oracle: kt.Oracle) -> int:
    """How many of the most recently ended trials failed in a row."""
    count = 0
    for trial_id in reversed(oracle.end_order):
        if oracle.trials[trial_id].status != FAILED:
            break
        count += 1
    return count
