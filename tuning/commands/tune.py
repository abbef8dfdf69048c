"""The `tune` command: a whole search, from the data to the reports, resumable at any point."""

from __future__ import annotations

import dataclasses
import time
from functools import partial
from pathlib import Path

from tuning import experiment as experiments
from tuning import hardware
from tuning.config import TuneConfig
from tuning.data import Split, hold_out, load_dataset, split
from tuning.distributed import chief, cluster
from tuning.engine import auth, budget, midtrial, usercode
from tuning.engine.epochs import PROGRESS_FILE
from tuning.engine.evaluate import TestSet, evaluate_best, prune_checkpoints, test_set
from tuning.engine.failures import check_failures, failure_reason
from tuning.engine.isolation import fail_killed_trials, run_trials_in_children
from tuning.engine.search import frozen_garbage, make_tuner, run_search
from tuning.engine.tuner import RecordingTuner
from tuning.errors import SearchStopped, TuningError
from tuning.experiment import Experiment
from tuning.layout import RETRAINED
from tuning.reports.best_model import write_best_model
from tuning.reports.diagnosis import diagnosis
from tuning.reports.page import write_page
from tuning.reports.progress import print_progress, start_lines
from tuning.reports.tables import summary, write_reports, write_trials_csv
from tuning.settings import show_duration
from tuning.sources import Dataset
from tuning.store import runinfo
from tuning.store.files import read_json, write_json_atomic
from tuning.store.lock import results_lock
from tuning.store.prepared import prepared_key, write_prepared
from tuning.store.resume import (
    ensure_writable,
    has_state,
    resolve_for_resume,
    saved_trial_states,
)
from tuning.trialstate import ENDED, TrialState


def tune(config: TuneConfig, verbose: int = 2, dataset: Dataset | None = None) -> str:
    """Run or resume a search, evaluate the best trials on test, write the reports.

    Everything that can be refused (data, resume mismatch, unwritable or busy results dir) is
    checked before anything under the results dir changes. `dataset` is the data already
    read (the command line reads it first, to refuse bad data fast); None reads it here.

    Returns:
        The closing summary.

    Raises:
        SearchStopped: the last trials all failed; the reports cover the ones that finished.
    """
    if cluster.role() == "worker":
        from tuning.distributed.worker import work_for_tune  # which imports this module

        return work_for_tune(config, verbose)
    if cluster.role() == "chief":  # refused before anything is written, not once serving
        auth.chief_token(own_workers_only=False)
    started, clock = runinfo.now(), time.monotonic()
    dataset = dataset or load_dataset(config.dataset, config.data_dir, config.image_size)
    held = hold_out(dataset, config.val_size, config.seed)
    data = split(held, config.train_limit)
    code = usercode.check_user_code(config, dataset.input_shape, dataset.num_classes)
    if config.user_hypermodel:  # its pins are typed by its own declarations
        config = dataclasses.replace(
            config, pins=usercode.typed_pins(config.hypermodel, config.pins)
        )
    resolved = config.resolve()
    experiment = experiments.define(
        dataset,
        config.hypermodel,
        config.space,
        config.warm_start,
        resolved.lr_factor,
        model=config.model,
        code=code,
        goal=usercode.objective_of(config),
    )
    check_keep(resolved)
    ensure_writable(resolved.results_dir)
    with results_lock(resolved.results_dir):
        if config.overwrite:  # the earlier search's retrainings would pose as this one's
            for name in RETRAINED:
                (resolved.results_dir / name).unlink(missing_ok=True)
        config, saved = resolve_for_resume(config, dataset.source["digest"], code)
        write_prepared(config.results_dir, held, prepared_key(config, experiment))
        path = hardware.training_path(config.training, config.precision)
        run = {
            "config": config.to_json(),
            "experiment": experiment.to_json(),
            "data_source": dataset.source,
            "packages": runinfo.package_versions(),
            "machine": hardware.describe_machine(),
            # What `--training` and `--precision auto` resolve to here; each trial records
            # its own in trials.csv, since a resume may run on another machine.
            "training": hardware.resolved(path),
            "first_started_at": (saved or {}).get("first_started_at", started),
            "started_at": started,
            "status": "running",
            **budget.run_fields(saved),
        }
        results_dir = config.results_dir
        write_json_atomic(results_dir / runinfo.RUN_FILE, run)
        ended = [s for _, s in saved_trial_states(results_dir) if s.get("status") in ENDED]
        print("\n".join(start_lines(config, run, saved is not None, len(ended))), flush=True)
        searching = True
        try:
            test = test_set(held)
            with budget.counting(results_dir):
                tuner, stopped = search_trials(
                    config, experiment, data, test, 0 if config.quiet else verbose
                )
            run.update(search_seconds=budget.spent_now(run))
            searching = False  # evaluation and reports count against no budget
            text = finish_reports(tuner, results_dir, config.top_n, held)
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: say what was kept and lost
            if searching:
                run.update(search_seconds=budget.spent_now(run))
            run.update(status="interrupted", finished_at=runinfo.now())
            write_json_atomic(results_dir / runinfo.RUN_FILE, run)
            record_interruption(config, experiment)
            raise type(e)(interrupt_story(results_dir)) from None
        run.update(status="stopped" if stopped else "finished", finished_at=runinfo.now())
        run.update(seconds=round(time.monotonic() - clock, 1))
        run.update(training_seconds=training_seconds(tuner))
        run.update(startup_seconds=startup_seconds(tuner))
        # Gaussian-process proposals that repeated a tried configuration (tuning.engine.oracle).
        run.update(replaced_proposals=tuner.oracle.replaced_proposals)
        write_json_atomic(results_dir / runinfo.RUN_FILE, run)
        write_page(results_dir)  # again: run.json now has this run's status and times
    if stopped:
        print(text)
        raise SearchStopped(f"{stopped}; the reports in {results_dir} cover the other trials")
    return text + stopped_early(tuner, config, run["search_seconds"])


def record_interruption(config: TuneConfig, experiment: Experiment) -> None:
    """Rewrite trials.csv and the page as an interrupted search's: no trial RUNNING there."""
    if not has_state(config.results_dir):
        return  # interrupted before its first trial: nothing to report
    tuner = make_tuner(dataclasses.replace(config, overwrite=False), experiment)
    write_trials_csv(config.results_dir, tuner)
    write_page(config.results_dir)


def interrupt_story(results_dir: Path) -> str:
    """What an interrupted search kept and lost, read from its trial files, in one line."""
    finished, cut = 0, []
    for path, state in saved_trial_states(results_dir):
        if state.get("status") in ENDED:
            finished += 1
        elif state.get("status") == TrialState.RUNNING:
            cut.append(cut_trial(state["trial_id"], path.parent))
    kept = f"{finished} finished trial{'' if finished == 1 else 's'} saved"
    return f"interrupted: {'; '.join([*cut, kept])}; run the same command to resume"


def cut_trial(trial_id: str, trial_dir: Path) -> str:
    """Where an interrupted trial stopped, and from where it goes on when resumed."""
    epochs = (read_json(trial_dir / PROGRESS_FILE) or {}).get("epochs", 0)
    if not epochs:
        return f"trial {trial_id} stopped before its first epoch ended"
    saved = midtrial.saved_epochs(trial_dir)
    goes_on = f"resumes from epoch {saved + 1}" if saved else "restarts from epoch 1"
    if saved and saved < epochs:
        goes_on += f" (its state was last saved after epoch {saved})"
    return f"trial {trial_id} stopped after epoch {epochs} and {goes_on} on resume"


def search_trials(
    config: TuneConfig, experiment: Experiment, data: Split, test: TestSet, verbose: int
) -> tuple[RecordingTuner, SearchStopped | None]:
    """Run the search's trials, each in a fresh process unless `config.in_process`.

    A distributed search's chief serves them to its workers instead.

    Returns:
        The tuner with the final state, and why the search stopped early, if it did.
    """
    if cluster.is_chief(config):
        return chief.run_chief(config, verbose, partial(after_each_trial, config=config))
    after_trial = partial(after_each_trial, config=config)
    tuner = make_tuner(config, experiment, after_trial=after_trial, test=test)
    try:
        if config.in_process:
            run_search(tuner, config, data, verbose=verbose)
            return tuner, None
        run_trials_in_children(config, partial(fail_killed_trials, after_trial=after_trial))
    except SearchStopped as e:
        if config.in_process:
            return tuner, e
    # The children changed the saved state; read it back, and the reason they stopped.
    tuner = make_tuner(dataclasses.replace(config, overwrite=False), experiment)
    last = tuner.oracle.end_order[-1] if tuner.oracle.end_order else None
    reason = last and failure_reason(tuner.oracle.trials[last], tuner.load_record(last))
    try:
        check_failures(tuner.oracle, config.max_failures, reason)
    except SearchStopped as e:
        return tuner, e
    return tuner, None


def after_each_trial(tuner: RecordingTuner, config: TuneConfig) -> None:
    """Rewrite trials.csv, so hours into a search the user can already read it; prune weights.

    Then print the trial's progress line; in the trial's own process too, so both modes print it.
    """
    write_trials_csv(config.results_dir, tuner, live=True)
    prune_checkpoints(tuner, config.keep_checkpoints)
    budget.record_spent(config.results_dir)
    print_progress(tuner, config)


def check_keep(config: TuneConfig) -> None:
    """Refuse to keep fewer checkpoints than the final evaluation needs.

    Raises:
        TuningError: `keep_checkpoints` is below `top_n`.
    """
    if config.keep_checkpoints < config.top_n:
        raise TuningError(
            f"--keep-checkpoints {config.keep_checkpoints} is below --top-n {config.top_n}: "
            "the best trials' weights are needed for the test evaluation"
        )


def stopped_early(tuner: RecordingTuner, config: TuneConfig, search_seconds: float) -> str:
    """A closing note when the search ended with fewer trials than asked for, else ''."""
    ended = len(tuner.oracle.trials)
    if ended >= config.trial_cap:
        return ""
    of = "" if config.until_budget else f" of {config.max_trials}"
    if config.time_budget and search_seconds >= config.time_budget:
        return (
            f"\nnote: the time budget of {show_duration(config.time_budget)} was spent "
            f"after {ended}{of} trials; resume with a larger --time-budget to go on"
        )
    # KerasTuner stops quietly when it cannot draw new values (everything pinned, say).
    return (
        f"\nnote: the search stopped after {ended}{of} trials: no untried values were left to draw"
    )


def finish_reports(tuner: RecordingTuner, results_dir: Path, top_n: int, dataset: Dataset) -> str:
    """Evaluate the best trials, write the CSVs and plots, and return the summary.

    The summary ends with the share of failed trials and any best value on a range's edge.
    """
    # Imported here: matplotlib is needed for the final reports, not in every trial's process.
    from tuning.reports.plots import write_plots

    # Rebuilding a model (for a test score, or best_model.keras) collects garbage thrice.
    with frozen_garbage():
        evaluated, missing = evaluate_best(tuner, top_n, dataset)
        paths = write_reports(results_dir, tuner, evaluated) + write_plots(results_dir, tuner)
        paths += [p for p in [write_best_model(tuner, results_dir)] if p]  # none: no checkpoint
    paths.append(write_page(results_dir))  # last: it shows the files above
    text = "\n".join([summary(evaluated, paths, tuner.goal.name), *diagnosis(tuner)])
    if missing:
        text += (
            f"\nnote: trials {', '.join(missing)} rank in the top {top_n} but their weights were "
            "deleted (--keep-checkpoints); they are in trials.csv, not evaluated"
        )
    return text


def startup_seconds(tuner: RecordingTuner) -> dict[str, float | None]:
    """Per trial, seconds from its process's start (or its own) to its first training batch."""
    return {
        trial_id: tuner.load_record(trial_id).get("startup_seconds")
        for trial_id in sorted(tuner.oracle.trials, key=int)
    }


def training_seconds(tuner: RecordingTuner) -> float:
    """Seconds spent training all trials, across every resumed run."""
    records = (tuner.load_record(trial_id) for trial_id in tuner.oracle.trials)
    return round(sum(r.get("seconds", 0.0) for r in records), 1)
