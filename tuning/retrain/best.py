"""Retrain a finished search's best configuration exactly as a trial trains (ablate, confirm).

Every retraining goes through `retrain`, which builds and fits the model the way a search
trial does, so a change to the training path reaches the search and these commands alike.
`train_rows` runs a list of retrainings, writing the CSV after each one, and on a rerun keeps
the rows already finished with the same settings: a retraining can take most of an hour.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import keras
import keras_tuner as kt
import pandas as pd

from hypermodels import get_hypermodel
from tuning import experiment as experiments
from tuning.config import TuneConfig
from tuning.data import Split, split
from tuning.engine.callbacks import training_callbacks
from tuning.engine.evaluate import TestSet, best_trials, evaluate_trial, test_scores, test_set
from tuning.engine.record import elapsed, training_record
from tuning.engine.search import make_tuner
from tuning.errors import TuningError
from tuning.hardware import training_path
from tuning.layout import TEST_RESULTS_CSV, TUNER_DIR
from tuning.reports.tables import declared_names
from tuning.retrain.recorded import Found, recorded_best, search_metrics
from tuning.sources import Dataset
from tuning.store.files import csv_text, read_text_csv, write_csv_atomic
from tuning.store.lock import results_lock
from tuning.store.prepared import search_data
from tuning.store.resume import recorded_run, saved_config, saved_run


def result_columns(score: str) -> list[str]:
    """What every retraining adds to its row: its best `score` (the objective), test scores."""
    return [score, "test_loss", "test_accuracy", "epochs", "best_epoch", "seconds"]


@dataclass
class Best(Found):
    """A finished search's best trial, with what it takes to train it again."""

    config: TuneConfig
    experiment: experiments.Experiment
    dataset: Dataset
    data: Split
    test: TestSet

    @property
    def seed(self) -> int:
        """The training seed the search gave this trial."""
        return self.config.seed + int(self.trial_id)

    @property
    def score(self) -> str:
        """The objective the search ranked by: the rows' score column."""
        return self.experiment.objective

    def values(self, hp: kt.HyperParameters) -> dict:
        """`hp`'s value of every declared name; None where a conditional name is inactive."""
        return {name: hp.values.get(name) for name in self.names}


@contextlib.contextmanager
def best_configuration(results_dir: Path, data_dir: Path | None = None) -> Iterator[Best]:
    """Hold the lock of `results_dir` and yield its search's best trial and data.

    The best trial comes from the search's tuner/ state; where that is gone (published or
    copied results), from the reports it wrote.

    Raises:
        TuningError: `results_dir` holds no search, or no completed trial; the data cannot be
            read; another process holds the lock.
    """
    run = saved_run(results_dir)
    reports_only = run is None
    if reports_only:
        run = recorded_run(results_dir)  # None: saved_config says what the folder lacks
    config, experiment = saved_config(results_dir, run), experiments.saved(run)
    config = dataclasses.replace(config, data_dir=data_dir or config.data_dir)
    dataset = search_data(config, experiment)
    data = split(dataset, config.train_limit)
    test = test_set(dataset)
    with results_lock(results_dir):
        if reports_only:
            found = recorded_best(config, experiment.objective)
            print(
                f"note: {results_dir} has no {TUNER_DIR}/ state: trial {found.trial_id}'s values "
                f"read from {TEST_RESULTS_CSV}"
            )
        else:
            found = state_best(config, experiment, test)
        yield Best(
            **vars(found),
            config=config,
            experiment=experiment,
            dataset=dataset,
            data=data,
            test=test,
        )


def state_best(config: TuneConfig, experiment: experiments.Experiment, test: TestSet) -> Found:
    """The best trial in the search's tuner/ state, its test scores from its checkpoint.

    Raises:
        TuningError: the search has no completed trial.
    """
    tuner = make_tuner(config, experiment)
    best = best_trials(tuner, 1)
    if not best:
        raise TuningError(f"{config.results_dir} has no completed trial to retrain")
    trial = best[0]
    search = dict.fromkeys(search_metrics(experiment.objective), None)
    search[experiment.objective] = trial.score
    if tuner.checkpoint_path(trial.trial_id).exists():
        result = evaluate_trial(tuner, trial, test)  # cached by the search and by report
        search.update(test_accuracy=result["test_accuracy"], test_loss=result["test_loss"])
    names = declared_names(tuner.oracle.hyperparameters)
    return Found(trial.trial_id, trial.hyperparameters, names, search)


def retrain(
    config: TuneConfig,
    experiment: experiments.Experiment,
    hp: kt.HyperParameters,
    data: Split,
    test: TestSet,
    seed: int,
    epochs: int,
    verbose: int = 2,
) -> dict:
    """Train the values in `hp` as a search trial does, then score the best epoch on test.

    Returns:
        The best objective, test loss and accuracy, epochs run, best epoch and seconds.
    """
    # The order of a trial: RecordingTuner seeds, then KerasTuner clears the session and builds.
    keras.utils.set_random_seed(seed)
    keras.backend.clear_session()  # it collects the garbage too
    start = time.monotonic()
    path = training_path(config.training, config.precision)
    hypermodel = get_hypermodel(
        config.hypermodel,
        space=config.space,
        path=path,
        input_shape=experiment.input_shape,
        num_classes=experiment.num_classes,
        model=config.model,
    )
    model = hypermodel.build(hp)
    history = hypermodel.fit(
        hp,
        model,
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        callbacks=training_callbacks(config, experiment.goal),
        verbose=verbose,
    )
    goal = experiment.goal
    record = training_record(history, elapsed(start), goal)
    if record.get("reason"):
        print(f"note: {record['reason']}")
    # EarlyStopping(restore_best_weights) has put back the best epoch's weights: the weights a
    # trial's checkpoint holds, and the ones the search scores on test.
    scores = test_scores(model, test)
    keras.backend.clear_session()
    return {
        goal.name: float(goal.best(history.history[goal.name])),
        **scores,
        **{name: record[name] for name in ("epochs", "best_epoch", "seconds")},
    }


@dataclass
class Planned:
    """One row to fill: what identifies it, the values to train and the seed."""

    key: dict  # the row's identifying columns: a finished row with the same key is kept
    hp: kt.HyperParameters
    seed: int
    label: str  # how the printout names it
    same_as: int | None = None  # index of an earlier row with the same values: shared, not trained
    extra: dict = field(default_factory=dict)  # columns that describe, not identify


def train_rows(
    best: Best, rows: list[Planned], columns: list[str], path: Path, epochs: int, verbose: int = 2
) -> pd.DataFrame:
    """Fill every planned row, keeping finished ones from `path`; rewrite `path` after each.

    `path` always holds exactly the finished rows of this plan, so a kill loses at most the
    retraining under way, and the same command carries on from there.

    Returns:
        The finished CSV, read back with pandas' usual types.
    """
    old = read_text_csv(path)
    done = finished_rows(old, rows, columns, best.score)
    if len(done) < len(old):
        print(f"note: {path.name}: dropped {len(old) - len(done)} row(s) of other settings")
        write_rows(path, done, columns)
    for i, row in enumerate(rows):
        if i in done:
            print(f"{row.label}: kept from {path.name}")
            continue
        if row.same_as is not None:
            shared = {c: done[row.same_as][c] for c in result_columns(best.score)}
        else:
            print(f"{row.label}: training (seed {row.seed}, max_epochs {epochs})")
            shared = retrain(
                best.config,
                best.experiment,
                row.hp,
                best.data,
                best.test,
                row.seed,
                epochs,
                verbose,
            )
        done[i] = as_text({**row.key, **shared, **row.extra}, columns)
        print(f"{row.label}: {summary_line(done[i], best.score)}")
        write_rows(path, done, columns)
    return pd.read_csv(path, dtype={"trial_id": str})


def summary_line(row: dict, score: str) -> str:
    """A finished row's scores in one line."""
    accuracy = row["test_accuracy"]
    return (
        f"{score} {float(row[score]):.4f}, "
        + ("" if accuracy in ("", None) else f"test_accuracy {float(accuracy):.4f}, ")
        + f"test_loss {float(row['test_loss']):.4f}, epochs {row['epochs']}"
    )


def as_text(row: dict, columns: list[str]) -> dict[str, str]:
    """`row` as the cell texts this tool writes, so keys compare exactly with a read CSV."""
    text = csv_text(pd.DataFrame([row], columns=columns))
    return read_text_csv(io.StringIO(text))[0]


def finished_rows(
    old: list[dict[str, str]], rows: list[Planned], columns: list[str], score: str
) -> dict[int, dict]:
    """The `old` rows whose key matches a planned row, by that row's index."""
    found = {}
    for i, row in enumerate(rows):
        key = {k: v for k, v in as_text(row.key, columns).items() if k in row.key}
        match = [r for r in old if all(r.get(k) == v for k, v in key.items())]
        scores = (score, "test_loss", "epochs", "best_epoch", "seconds")
        if match and all(match[0].get(c, "") != "" for c in scores):
            found[i] = match[0]
    return found


def write_rows(path: Path, done: dict[int, dict], columns: list[str]) -> None:
    """Write the finished rows to `path` in plan order, atomically."""
    write_csv_atomic(pd.DataFrame([done[i] for i in sorted(done)], columns=columns), path)
