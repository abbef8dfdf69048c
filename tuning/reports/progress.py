"""One line per finished trial: its score, the best so far, the time spent and the time left.

The line has one fixed format (LINE), so a log can be read by eye or by a script:

    trial 3/10 (id 2) | val_accuracy 0.9812 | best 0.9850 | elapsed 0:12:34 | left ~0:29:10 |
    augment_factor=0.0123 dropout=0.2 ...

(on one line), the objective (val_accuracy here) named as the search ranks by it. A failed
trial reads `val_accuracy FAILED`; before any trial completed, the
best reads `-`. Pinned names are left out of the values: they are the same in every trial.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import keras_tuner as kt

from hypermodels import space
from tuning.config import TuneConfig
from tuning.engine.epochs import clock
from tuning.engine.evaluate import best_trials
from tuning.engine.tuner import RecordingTuner
from tuning.hardware import gpu_labels
from tuning.reports.tables import hyperparameter_values, show
from tuning.settings import show_duration
from tuning.store import runinfo
from tuning.store.files import read_json
from tuning.trialstate import TrialState

LINE = (
    "trial {done}/{total} (id {trial_id}) | {objective} {score} | best {best} | "
    "elapsed {elapsed} | left ~{left} | {values}"
)


def where(source: dict) -> str:
    """Where the data came from, for the user: a folder as an absolute path.

    run.json records it relative to the folder the command runs in, for publishing.
    """
    location = source["location"]
    return os.path.abspath(location) if source["kind"] in ("idx", "npz", "folder") else location


def start_lines(config: TuneConfig, run: dict, resumed: bool, trials_done: int) -> list[str]:
    """The block a search opens with: its data, results dir, budget, space and machine."""
    source, training, machine = run["data_source"], run["training"], run["machine"]
    total = "" if config.until_budget else f" of {config.trial_cap}"
    state = f"resumed: {trials_done}{total} done" if resumed else "new search"
    trials = "trials" if config.until_budget else plural(config.trial_cap, "trial")
    budget = f"{trials} of up to {plural(config.max_epochs, 'epoch')}"
    if config.until_budget:
        budget = f"as many {budget} as the time budget buys"
    if config.time_budget:
        spent = show_duration(run["search_seconds_before"])
        budget += f", time budget {show_duration(config.time_budget)} ({spent} spent)"
    gpus = gpu_labels(machine)
    cpu = f"{machine['processor']}, {machine['cpus']} cpus ({' '.join(machine['cpu_features'])})"
    how = "auto" if config.precision == "auto" else "forced"
    experiment = run.get("experiment") or {}
    lines = [
        f"data:     {config.dataset} from {where(source)}{data_shape(experiment)}",
        f"results:  {config.results_dir} ({state})",
        f"budget:   {budget}",
        f"space:    {space_line(config)}",
        f"training: {training['precision']} ({how}), {config.training} path, "
        f"XLA {'on' if training['jit_compile'] else 'off'}, "
        f"{training.get('backend', 'tensorflow')} backend, on {', '.join(gpus) or cpu}",
    ]
    if config.warm_start and experiment and not experiment.get("warm_start"):
        why = (
            f"{config.hypermodel} searches names of its own"
            if config.user_hypermodel
            else "the course's configuration is for mnist and fashion-mnist"
        )
        lines.append(f"note:     no warm start: {why}, so this search starts from random points")
    return lines


def space_line(config: TuneConfig) -> str:
    """`card, cnn: 6 names searched, 0 pinned`; a user's HyperModel's names are its own."""
    pinned = f"{len(config.pins)} pinned"
    if config.user_hypermodel:
        return f"the names {config.hypermodel} declares, {pinned}"
    declared = space.search_space(config.pins, config.space, config.hypermodel).space
    free = sum(not isinstance(h, kt.engine.hyperparameters.Fixed) for h in declared)
    network = f"model {config.model}" if config.model else config.hypermodel
    return f"{config.space}, {network}: {free} names searched, {pinned}"


def data_shape(experiment: dict) -> str:
    """`: 32x32x3 images, 10 classes (airplane, ..., truck)`, or '' before experiments."""
    if not experiment:
        return ""
    shape = "x".join(str(n) for n in experiment["input_shape"])
    return f": {shape} images, {class_list(experiment['class_names'])}"


def class_list(names: list[str], shown: int = 6) -> str:
    """`10 classes (0, 1, 2, 3, ..., 9)`: the first names and the last, where there are many."""
    count = f"{len(names)} class{'' if len(names) == 1 else 'es'}"
    if len(names) > shown:
        names = [*names[: shown - 2], "...", names[-1]]
    return f"{count} ({', '.join(names)})"


def plural(count: int, noun: str) -> str:
    """`1 trial`, `10 trials`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def searched_values(trial: kt.engine.trial.Trial, hp: kt.HyperParameters) -> str:
    """The trial's active values of the names the search varies, as `name=value` words."""
    pinned = {h.name for h in hp.space if isinstance(h, kt.engine.hyperparameters.Fixed)}
    values = hyperparameter_values(trial)
    return " ".join(
        f"{name}={show(value)}"
        for name, value in values.items()
        if value is not None and name not in pinned
    )


def seconds_left(tuner: RecordingTuner, max_trials: int) -> float:
    """The mean training seconds of the trials ended so far, times the trials still to run.

    Never more than the time budget has left: the search ends there.
    """
    ended = tuner.oracle.end_order
    seconds = [tuner.load_record(i).get("seconds") for i in ended]
    seconds = [s for s in seconds if s is not None]
    mean = sum(seconds) / len(seconds) if seconds else 0.0
    left = mean * max(max_trials - len(ended), 0)
    return left if tuner.budget is None else min(left, tuner.budget.left())


def run_started(results_dir) -> datetime | None:
    """When this run of the search started (run.json's `started_at`), if known."""
    started = (read_json(results_dir / runinfo.RUN_FILE) or {}).get("started_at")
    return datetime.fromisoformat(started) if started else None


def progress_line(tuner: RecordingTuner, config: TuneConfig, now: datetime | None = None) -> str:
    """The progress line of the trial that ended last.

    Elapsed counts from this run's start (a resume counts from its own); the time left is
    an estimate from the trials ended so far.
    """
    oracle = tuner.oracle
    trial = oracle.trials[oracle.end_order[-1]]
    best = best_trials(tuner, 1)
    started = run_started(config.results_dir)
    now = now or datetime.now(UTC)
    completed = trial.status == TrialState.COMPLETED and trial.score is not None
    return LINE.format(
        done=len(oracle.end_order),
        total="?" if config.until_budget else config.trial_cap,
        trial_id=trial.trial_id,
        objective=tuner.goal.name,
        score=f"{trial.score:.4f}" if completed else trial.status,
        best=f"{best[0].score:.4f}" if best else "-",
        elapsed=clock((now - started).total_seconds()) if started else "?",
        left=clock(seconds_left(tuner, config.trial_cap)),
        values=searched_values(trial, oracle.hyperparameters),
    ).rstrip(" |")


def print_progress(tuner: RecordingTuner, config: TuneConfig) -> None:
    """Print the last trial's progress line at once: a child's stdout may be a pipe."""
    print(progress_line(tuner, config), flush=True)
