"""The `run-trial` command: one trial of a saved search, in a process of its own."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tuning.commands.tune import after_each_trial
from tuning.data import split
from tuning.engine.evaluate import test_set
from tuning.engine.isolation import (
    SEARCH_OVER,
    SEARCH_STOPPED,
    TRIAL_ENDED,
    die_with_parent,
)
from tuning.engine.search import make_tuner, run_search
from tuning.engine.spawn import released
from tuning.engine.tuner import TrialBudgetSpent
from tuning.errors import SearchStopped
from tuning.experiment import saved
from tuning.store import runinfo
from tuning.store.files import read_json
from tuning.store.prepared import search_data
from tuning.store.resume import (
    saved_config,
)


def run_trial(results_dir: Path, parent: int, verbose: int = 2, wait: bool = False) -> int:
    """Run the next trial of the search saved in `results_dir`: `tune`'s child process.

    With `wait`, the process was started ahead (`tuning.engine.spawn`): its imports are done, and
    it waits for `tune` to say go before it reads the search.

    Returns:
        TRIAL_ENDED when a trial ran, SEARCH_OVER when the oracle had none left (or `tune`
        did not say go), or SEARCH_STOPPED when failures stopped the search.
    """
    if wait:
        if not released():
            return SEARCH_OVER
        runinfo.count_from_now()  # its start-up is what the trial waited for, not the wait
    die_with_parent(parent)
    # Not saved_run: before the first trial there is a run.json but no tuner state yet.
    run = read_json(results_dir / runinfo.RUN_FILE)
    config, experiment = saved_config(results_dir, run), saved(run)
    dataset = search_data(config, experiment)
    data = split(dataset, config.train_limit)
    after = partial(after_each_trial, config=config)
    tuner = make_tuner(
        config, experiment, after_trial=after, trials_budget=1, test=test_set(dataset)
    )
    try:
        run_search(tuner, config, data, verbose=0 if config.quiet else verbose)
    except TrialBudgetSpent:
        return TRIAL_ENDED
    except SearchStopped:
        return SEARCH_STOPPED  # the parent says why, once
    return SEARCH_OVER
