"""The `report` command: a finished search's evaluation, tables, plots and page, written again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tuning.commands.tune import finish_reports
from tuning.engine.search import make_tuner
from tuning.engine.tuner import RecordingTuner
from tuning.errors import TuningError
from tuning.experiment import saved
from tuning.store.lock import results_lock
from tuning.store.prepared import search_data
from tuning.store.resume import (
    saved_config,
    saved_run,
)
from tuning.trialstate import TrialState


def report(results_dir: Path, data_dir: Path | None = None, top_n: int | None = None) -> str:
    """Rebuild the CSVs from the tuner state under `results_dir`, without training.

    Evaluations cached by the search are reused; a best trial without one is evaluated now.
    """
    run = saved_run(results_dir)
    config, experiment = saved_config(results_dir, run), saved(run)
    config = dataclasses.replace(
        config, data_dir=data_dir or config.data_dir, top_n=top_n or config.top_n
    )
    dataset = search_data(config, experiment)
    with results_lock(results_dir):
        tuner = make_tuner(config, experiment)
        check_finished_trials(tuner, results_dir)
        return finish_reports(tuner, results_dir, config.top_n, dataset)


def check_finished_trials(tuner: RecordingTuner, results_dir: Path) -> None:
    """Refuse to report on a search none of whose trials finished: its reports would be empty.

    Raises:
        TuningError: no trial is COMPLETED (or STOPPED_EARLY, which KerasTuner counts so).
    """
    statuses = [trial.status for trial in tuner.oracle.trials.values()]
    if TrialState.COMPLETED in statuses:
        return
    # The lock is ours: no search runs, so a trial saved as running was cut off.
    running = TrialState.RUNNING
    statuses = [TrialState.INTERRUPTED if s == running else s for s in statuses]
    counts = ", ".join(f"{statuses.count(s)} {s.lower()}" for s in sorted(set(statuses)))
    raise TuningError(
        f"{results_dir} has no finished trial yet ({counts or 'no trial started'}): "
        "nothing to report"
    )
