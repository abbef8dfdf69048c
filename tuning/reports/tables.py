"""Build trials.csv and test_results.csv from the tuner state, and the closing summary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras_tuner as kt
import pandas as pd

from hypermodels import space
from tuning.engine.failures import failure_reason
from tuning.engine.record import HISTORY_METRICS, history_metrics
from tuning.engine.tuner import RecordingTuner
from tuning.layout import HISTORY_CSV, TEST_RESULTS_CSV, TRIALS_CSV
from tuning.objective import DEFAULT, Objective
from tuning.store.files import write_csv_atomic
from tuning.trialstate import TrialState

HISTORY_COLUMNS = ["trial_id", "epoch", *HISTORY_METRICS]
RECORD_COLUMNS = ["epochs", "best_epoch", "final_lr", "seconds"]
# A trial a stopping rule ended is COMPLETED in KerasTuner's oracle, with the best score it
# reached; trials.csv calls it STOPPED_EARLY, and it can rank among the best like any other.


def trials_columns(names: Sequence[str], score: str = DEFAULT) -> list[str]:
    """trials.csv's columns for a search over `names`, ranked by the metric `score`.

    `precision` is the dtype policy the trial trained in (`--precision auto` resolves per
    machine). `reason` says why a FAILED trial failed (a diverged loss, an exception) or
    why a STOPPED_EARLY one was stopped; empty otherwise.
    """
    return ["trial_id", "status", score, *names, *RECORD_COLUMNS, "precision", "reason"]


def evaluated_columns(names: Sequence[str], score: str = DEFAULT) -> list[str]:
    """test_results.csv's columns for a search over `names`, ranked by the metric `score`."""
    return ["rank", "trial_id", score, "test_loss", "test_accuracy", *names]


def history_columns(goal: Objective) -> list[str]:
    """history.csv's columns: the course's metrics, and the objective where it is another."""
    return ["trial_id", "epoch", *history_metrics(goal)]


# The card space's columns, which every search had before --space existed.
TRIALS_COLUMNS = trials_columns(space.NAMES)
TEST_COLUMNS = evaluated_columns(space.NAMES)


def declared_names(hp: kt.HyperParameters) -> list[str]:
    """The names a search space declares, in declaration order: the CSVs' value columns."""
    return list(dict.fromkeys(h.name for h in hp.space))


def hyperparameter_values(trial: kt.engine.trial.Trial) -> dict:
    """The trial's value of every declared name; None (an empty cell) where it has none.

    KerasTuner keeps only active values, so a conditional name whose condition the trial
    does not meet (weight_decay without adamw) reads None, never a made-up value.
    """
    values = trial.hyperparameters.values
    return {name: values.get(name) for name in declared_names(trial.hyperparameters)}


def trial_reason(trial: kt.engine.trial.Trial, record: dict) -> str | None:
    """Why a trial failed or was stopped early; None for one that ran to its end."""
    if trial.status == TrialState.FAILED:
        return failure_reason(trial, record)
    return record.get("stopped_early")


def trial_status(trial: kt.engine.trial.Trial, record: dict, live: bool) -> str:
    """trials.csv's status of `trial`: KerasTuner's, but for two it cannot tell apart.

    STOPPED_EARLY for a trial a rule cut short; INTERRUPTED for one the saved state calls
    RUNNING where no search runs (`live` False).
    """
    if record.get("stopped_early"):
        return TrialState.STOPPED_EARLY
    if trial.status == TrialState.RUNNING and not live:
        return TrialState.INTERRUPTED
    return trial.status


def trials_frame(tuner: RecordingTuner, live: bool = False) -> pd.DataFrame:
    """One row per trial, in trial order, with its status, score, values and training record.

    `live`: written while the search runs, whose RUNNING trials are training now.
    """
    names = declared_names(tuner.oracle.hyperparameters)
    rows = []
    for trial in sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id)):
        record = tuner.load_record(trial.trial_id)
        rows.append(
            {
                "trial_id": trial.trial_id,
                "status": trial_status(trial, record, live),
                tuner.goal.name: trial.score,
                **hyperparameter_values(trial),
                **{column: record.get(column) for column in RECORD_COLUMNS},
                "precision": record.get("training", {}).get("precision"),
                "reason": trial_reason(trial, record),
            }
        )
    return pd.DataFrame(rows, columns=trials_columns(names, tuner.goal.name))


def test_results_frame(
    evaluated: list[tuple[kt.engine.trial.Trial, dict]], names: Sequence[str], score: str = DEFAULT
) -> pd.DataFrame:
    """One row per evaluated trial, best first, with its `score` and the values of `names`."""
    rows = [
        {
            "rank": rank,
            "trial_id": trial.trial_id,
            score: trial.score,
            "test_loss": result["test_loss"],
            "test_accuracy": result["test_accuracy"],
            **hyperparameter_values(trial),
        }
        for rank, (trial, result) in enumerate(evaluated, start=1)
    ]
    return pd.DataFrame(rows, columns=evaluated_columns(names, score))


def history_frame(tuner: RecordingTuner) -> pd.DataFrame:
    """One row per trial and epoch, in trial order; a trial's last execution when several."""
    rows = [
        {"trial_id": trial_id, **row}
        for trial_id in sorted(tuner.oracle.trials, key=int)
        for row in tuner.load_record(trial_id).get("history", [])
    ]
    return pd.DataFrame(rows, columns=history_columns(tuner.goal))


def write_trials_csv(results_dir: Path, tuner: RecordingTuner, live: bool = False) -> Path:
    """Write trials.csv and history.csv atomically; the search calls this after every trial.

    Returns:
        The path of trials.csv.
    """
    write_csv_atomic(history_frame(tuner), results_dir / HISTORY_CSV)
    path = results_dir / TRIALS_CSV
    write_csv_atomic(trials_frame(tuner, live), path)
    return path


def write_reports(
    results_dir: Path, tuner: RecordingTuner, evaluated: list[tuple[kt.engine.trial.Trial, dict]]
) -> list[Path]:
    """Write trials.csv, history.csv and test_results.csv atomically; return their paths."""
    path = results_dir / TEST_RESULTS_CSV
    names = declared_names(tuner.oracle.hyperparameters)
    write_csv_atomic(test_results_frame(evaluated, names, tuner.goal.name), path)
    return [write_trials_csv(results_dir, tuner), results_dir / HISTORY_CSV, path]


def summary(
    evaluated: list[tuple[kt.engine.trial.Trial, dict]], paths: list[Path], score: str = DEFAULT
) -> str:
    """A short closing table: the best trial, its values and test scores, and the files."""
    lines = []
    if evaluated:
        trial, result = evaluated[0]
        accuracy = result["test_accuracy"]
        lines.append(
            f"best trial {trial.trial_id}: {score} {trial.score:.4f}, "
            + ("" if accuracy is None else f"test_accuracy {accuracy:.4f}, ")
            + f"test_loss {result['test_loss']:.4f}"
        )
        values = hyperparameter_values(trial)
        width = max(len(name) for name in values)
        for name, value in values.items():
            lines.append(f"  {name:<{width}}  {show(value)}".rstrip())
    else:
        lines.append("no trial completed: nothing to evaluate")
    lines += [f"wrote {path}" for path in paths]
    return "\n".join(lines)


def show(value: object) -> str:
    """A value for the summary: numbers in short form, nothing for an inactive one."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)
