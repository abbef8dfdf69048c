"""The search's figures as PNG files, drawn with matplotlib's Agg backend beside the CSVs.

- learning_curves.png: accuracy and loss per epoch of the best trials, validation solid with
  dots and training dashed with hollow dots (short curves); the loss is the one Keras
  minimizes, cross-entropy plus any L1/L2 penalties, on a log scale: one trial's large
  penalties (a loss of 16 beside others' 0.3) would flatten every other curve into a line
- hyperparameters.png: one panel per searched name, its value against the objective, the
  best trial starred and the outer 10% of the range shaded (`tuning.reports.hpfigure`)
- best_so_far.png: every trial's objective and the best so far, against the trial order
  and against the training time the search had spent when each trial ended

The objective is val_accuracy unless the search named another (`tuning.objective`).

Trials stopped early (STOPPED_EARLY in trials.csv) count with their best epoch's score,
as KerasTuner ranks them; `tuning.reports.plotstyle` says how each kind of trial is marked.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from tuning.engine.tuner import RecordingTuner
from tuning.layout import BEST_SO_FAR_PNG, HYPERPARAMETERS_PNG, LEARNING_CURVES_PNG
from tuning.objective import VAL_ACCURACY, Objective
from tuning.reports.hpfigure import hyperparameters_figure
from tuning.reports.plotstyle import (
    BELOW_LABEL,
    FAILED_LABEL,
    failed,
    floor_of,
    mark_below,
    mark_best,
    mark_failed,
    mark_scored,
    ranked,
    set_floor,
    under,
)
from tuning.reports.tables import history_frame, trials_frame
from tuning.store.files import write_bytes_atomic
from tuning.trialstate import SCORED, TrialState

CURVES_OF = 5  # trials in the learning curves; more lines than this cannot be told apart
DOTTED_EPOCHS = 10  # curves this short get a marker per epoch; longer ones would only blur
# Keras adds the layers' kernel, bias and activity penalties to the compiled loss in both
# train_step and test_step, so val_loss includes them as well.
LOSS_LABEL = "loss, log scale (cross-entropy + any L1/L2 penalties)"
TIME_LABEL = "search time (minutes of training, trials in order)"


def write_plots(results_dir: Path, tuner: RecordingTuner) -> list[Path]:
    """Draw every figure of the search in `results_dir` and write it atomically.

    Returns:
        The paths of the PNG files.
    """
    trials, goal = trials_frame(tuner), tuner.goal
    figures = {
        LEARNING_CURVES_PNG: learning_curves_figure(history_frame(tuner), trials, goal),
        HYPERPARAMETERS_PNG: hyperparameters_figure(trials, tuner.oracle.hyperparameters, goal),
        BEST_SO_FAR_PNG: best_so_far_figure(trials, tuner.oracle.num_initial_points, goal),
    }
    paths = []
    for name, figure in figures.items():
        paths.append(results_dir / name)
        write_bytes_atomic(paths[-1], png_bytes(figure))
    return paths


def png_bytes(figure: Figure) -> bytes:
    """The figure rendered as PNG by the Agg canvas."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def learning_curves_figure(
    history: pd.DataFrame, trials: pd.DataFrame, goal: Objective = VAL_ACCURACY
) -> Figure:
    """Accuracy and loss per epoch, training dashed and validation solid, of the best trials."""
    figure = Figure(figsize=(12, 5.2), layout="constrained")
    accuracy, loss = figure.subplots(1, 2)
    best = ranked(trials, goal).head(CURVES_OF)
    shown = [t for t in best.trial_id if (history.trial_id == t).any()]
    handles = [
        draw_curves(
            (accuracy, loss), history[history.trial_id == t], best[best.trial_id == t], goal.name
        )
        for t in shown
    ]
    last = int(history[history.trial_id.isin(shown)].epoch.max()) if shown else 1
    for ax, metric, label in ((accuracy, "accuracy", "accuracy"), (loss, "loss", LOSS_LABEL)):
        epoch_axis(ax, last)
        ax.set_ylabel(label)
        ax.set_title(f"{metric} per epoch")
    loss.set_yscale("log")
    if not shown:
        accuracy.text(0.5, 0.5, "no completed trial", ha="center", transform=accuracy.transAxes)
    handles += [
        Line2D([], [], color="black", marker="o", markersize=4, label="validation"),
        Line2D([], [], color="black", linestyle="--", marker="o", mfc="none", label="training"),
    ]
    figure.legend(handles=handles, loc="outside right upper", title=f"trial ({goal.name})")
    count = f"{len(shown)} best trials" if len(shown) > 1 else "best trial"
    figure.suptitle(f"Learning curves of the {count}" if shown else "No completed trial")
    return figure


def draw_curves(
    axes: tuple[Axes, Axes], epochs: pd.DataFrame, trial: pd.DataFrame, score: str
) -> Line2D:
    """Draw one trial's accuracy and loss curves on `axes`; return its legend entry."""
    color = f"C{len(axes[0].get_lines()) // 2}"  # two lines per trial drawn before it
    # A marker per epoch makes a one-epoch curve, a single point, visible at all.
    marker = "o" if len(epochs) <= DOTTED_EPOCHS else None
    for ax, metric in zip(axes, ("accuracy", "loss"), strict=True):
        ax.plot(epochs.epoch, epochs[f"val_{metric}"], color=color, marker=marker, ms=4)
        ax.plot(epochs.epoch, epochs[metric], "--", color=color, marker=marker, ms=5, mfc="none")
    stopped = ", stopped" if trial.status.iloc[0] == TrialState.STOPPED_EARLY else ""
    label = f"trial {trial.trial_id.iloc[0]} ({trial[score].iloc[0]:.4f}{stopped})"
    return Line2D([], [], color=color, label=label)


def epoch_axis(ax: Axes, last: int) -> None:
    """Epochs 1 to `last` with half an epoch to spare each side, ticked at whole epochs."""
    ax.set_xlim(0.5, last + 0.5)
    # At least one tick: with fewer integers in range the locator falls back to fractions.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)


def first_guided_trial(trials: pd.DataFrame, initial_points: int | None) -> int | None:
    """The first trial the Gaussian process chose, or None if it has chosen none yet.

    KerasTuner's Bayesian oracle samples at random until `initial_points` trials completed;
    a trial stopped early is one of them, since KerasTuner records it as COMPLETED.
    """
    completed = 0
    for trial_id, status in zip(trials.trial_id, trials.status, strict=True):
        if initial_points is not None and completed >= initial_points:
            return int(trial_id)
        completed += status in SCORED
    return None


def search_minutes(trials: pd.DataFrame) -> pd.Series:
    """When each trial ended, in minutes of training since the search began.

    The running sum of the trials' `seconds` in trial order, failed trials' included; a
    trial without a time counts 0. It leaves out start-up and the time between trials,
    and with parallel workers it is the sum of their training time, not the wall clock.
    """
    return pd.to_numeric(trials.seconds, errors="coerce").fillna(0).cumsum() / 60


def best_so_far_figure(
    trials: pd.DataFrame, initial_points: int | None, goal: Objective = VAL_ACCURACY
) -> Figure:
    """Every trial's score and the best so far, by trial and by search time."""
    figure = Figure(figsize=(14, 5.4), layout="constrained")
    # One scale: a point reads the same in both panels.
    by_trial, by_time = figure.subplots(1, 2, sharey=True)
    guided = first_guided_trial(trials, initial_points)
    ids = trials.trial_id.astype(int)
    guided_at = None if guided is None else guided - 0.5
    floor = floor_of(trials, goal)
    progress_panel(by_trial, trials, ids, guided_at, floor, goal)
    minutes = search_minutes(trials)
    # The GP took over when the trial before its first one ended.
    started = minutes.shift(1, fill_value=0.0)
    guided_at = None if guided is None else started[ids == guided].iloc[0]
    progress_panel(by_time, trials, minutes, guided_at, floor, goal)
    done = ranked(trials, goal)
    if not done.empty:
        set_floor((by_trial, by_time), floor, goal.sign * done[goal.name].iloc[0], goal)
    by_trial.set_xlabel("trial id (the order the trials ran)")
    by_trial.set_title(f"Best {goal.name} so far, by trial")
    by_trial.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    by_trial.set_ylabel(goal.name)
    by_time.set_xlabel(TIME_LABEL)
    by_time.set_title(f"Best {goal.name} so far, by search time")
    handles, labels = by_trial.get_legend_handles_labels()
    if handles:  # below the axes: it never hides a trial
        figure.legend(handles, labels, loc="outside lower center", ncols=len(handles))
    return figure


def progress_panel(
    ax: Axes,
    trials: pd.DataFrame,
    xs: pd.Series,
    guided_at,
    floor: float | None,
    goal: Objective,
) -> None:
    """Draw each trial at `xs` (aligned with `trials`), the best so far as a step line."""
    done = ranked(trials, goal)
    if not done.empty:
        mark_scored(ax, done, list(xs[done.index]), goal.name, label=True)
        if floor is not None:
            below = under(done, floor, goal)
            mark_below(ax, list(xs[below.index]), label=BELOW_LABEL)
        scores = pd.to_numeric(trials[goal.name], errors="coerce")
        oriented = goal.sign * scores.where(trials.status.isin(SCORED))
        best = goal.sign * oriented.cummax().ffill()
        ax.step(xs, best, where="post", color="C1", label="best so far")
        top = done.iloc[0]
        mark_best(ax, xs[top.name], top[goal.name], label=f"best: trial {top.trial_id}")
    else:
        ax.set_ylim(0, 1)
    mark_failed(ax, list(xs[failed(trials).index]), label=FAILED_LABEL)
    if guided_at is not None:
        ax.axvline(guided_at, linestyle=":", color="0.3", label="Bayesian from here on")
    ax.grid(alpha=0.3)
