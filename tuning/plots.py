"""The search's figures as PNG files, drawn with matplotlib's Agg backend beside the CSVs.

- learning_curves.png: training and validation accuracy and loss per epoch of the best trials
- hyperparameters.png: one panel per searched name, its value against val_accuracy, the best
  trial starred and the outer 10% of the range shaded (where `report` warns)
- best_so_far.png: every trial's val_accuracy and the best so far, in trial order
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import keras_tuner as kt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from tuning.diagnosis import EDGE, edge_side, ordered_values, range_position
from tuning.files import write_bytes_atomic
from tuning.reports import history_frame, show, trials_frame
from tuning.search import OBJECTIVE, RecordingTuner

LEARNING_CURVES_PNG = "learning_curves.png"
HYPERPARAMETERS_PNG = "hyperparameters.png"
BEST_SO_FAR_PNG = "best_so_far.png"
CURVES_OF = 5  # trials in the learning curves; more lines than this cannot be told apart
PANEL_COLUMNS = 3
SCORE = OBJECTIVE.name
FAILED_STYLE = {"marker": "x", "color": "0.45", "linestyle": "none"}
BEST_STYLE = {"marker": "*", "color": "crimson", "markersize": 16, "linestyle": "none"}
FAILED_LABEL = "failed trial (no val_accuracy)"
EDGE_COLOR = "0.9"


def write_plots(results_dir: Path, tuner: RecordingTuner) -> list[Path]:
    """Draw every figure of the search in `results_dir` and write it atomically.

    Returns:
        The paths of the PNG files.
    """
    trials = trials_frame(tuner)
    figures = {
        LEARNING_CURVES_PNG: learning_curves_figure(history_frame(tuner), trials),
        HYPERPARAMETERS_PNG: hyperparameters_figure(trials, tuner.oracle.hyperparameters),
        BEST_SO_FAR_PNG: best_so_far_figure(trials, tuner.oracle.num_initial_points),
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


def ranked(trials: pd.DataFrame) -> pd.DataFrame:
    """The completed trials, best val_accuracy first; ties go to the earlier trial."""
    done = trials[(trials.status == "COMPLETED") & trials[SCORE].notna()]
    return done.sort_values(SCORE, ascending=False, kind="stable")


def failed(trials: pd.DataFrame) -> pd.DataFrame:
    """The ended trials without a score: failed (diverged, raised, killed) or invalid."""
    return trials[trials.status.isin(["FAILED", "INVALID"])]


def learning_curves_figure(history: pd.DataFrame, trials: pd.DataFrame) -> Figure:
    """Accuracy and loss per epoch, training dashed and validation solid, of the best trials."""
    figure = Figure(figsize=(12, 5.2), layout="constrained")
    accuracy, loss = figure.subplots(1, 2)
    best = ranked(trials).head(CURVES_OF)
    shown = [t for t in best.trial_id if (history.trial_id == t).any()]
    handles = []
    for index, trial_id in enumerate(shown):
        epochs = history[history.trial_id == trial_id]
        color = f"C{index}"
        score = best.loc[best.trial_id == trial_id, SCORE].iloc[0]
        for ax, metric in ((accuracy, "accuracy"), (loss, "loss")):
            # Dots show single epochs; on long curves they would only blur the line.
            marker = "o" if len(epochs) <= 10 else None
            ax.plot(epochs.epoch, epochs[f"val_{metric}"], color=color, marker=marker, ms=4)
            ax.plot(epochs.epoch, epochs[metric], "--", color=color)
        handles.append(Line2D([], [], color=color, label=f"trial {trial_id} ({score:.4f})"))
    for ax, metric in ((accuracy, "accuracy"), (loss, "loss")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} per epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if not shown:
        accuracy.text(0.5, 0.5, "no completed trial", ha="center", transform=accuracy.transAxes)
    handles += [
        Line2D([], [], color="black", marker="o", markersize=4, label="validation"),
        Line2D([], [], color="black", linestyle="--", label="training"),
    ]
    figure.legend(handles=handles, loc="outside right upper", title="trial (val_accuracy)")
    count = f"{len(shown)} best trials" if len(shown) > 1 else "best trial"
    figure.suptitle(f"Learning curves of the {count}" if shown else "No completed trial")
    return figure


def hyperparameters_figure(trials: pd.DataFrame, hp: kt.HyperParameters) -> Figure:
    """One panel per searched name: its value against val_accuracy, best starred, edges shaded."""
    searched = [h for h in hp.space if not isinstance(h, kt.engine.hyperparameters.Fixed)]
    pinned = [h for h in hp.space if isinstance(h, kt.engine.hyperparameters.Fixed)]
    columns = min(PANEL_COLUMNS, max(len(searched), 1))
    rows = max(math.ceil(len(searched) / columns), 1)
    figure = Figure(figsize=(4.4 * columns, 3.3 * rows + 1.0), layout="constrained")
    # One val_accuracy scale for every panel, so panels compare at a glance.
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True).ravel()
    best = ranked(trials).head(1)
    for index, (ax, declared) in enumerate(zip(axes, searched, strict=False)):
        value_panel(ax, declared, trials, best)
        ax.set_ylabel(SCORE if index % columns == 0 else "")
    if best.empty:
        axes[0].set_ylim(0, 1)
    for ax in axes[len(searched) :]:
        ax.set_axis_off()
    if not searched:
        axes[0].text(0.5, 0.5, "every hyperparameter is pinned", ha="center")
    handles = [
        Line2D([], [], marker="o", color="C0", linestyle="none", label="trial"),
        Line2D([], [], **BEST_STYLE, label="best trial"),
        Line2D([], [], **FAILED_STYLE, label=FAILED_LABEL),
        Patch(color=EDGE_COLOR, label=f"outer {EDGE:.0%} of the range"),
    ]
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    title = "val_accuracy against each searched hyperparameter"
    if pinned:
        title += "\npinned: " + ", ".join(f"{h.name}={show(h.value)}" for h in pinned)
    figure.suptitle(title)
    return figure


def mark_failed(ax: Axes, xs: list, label: str | None = None) -> None:
    """Mark failed trials, which have no score, as crosses along the bottom of `ax`."""
    if not xs:  # an empty unclipped line breaks constrained layout (matplotlib 3.11)
        return
    bottom = blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot(xs, [0.04] * len(xs), **FAILED_STYLE, transform=bottom, clip_on=False, label=label)


def categories(hp: kt.engine.hyperparameters.HyperParameter) -> list | None:
    """The values of a Choice or Boolean in axis order (ordered ones sorted); None if numeric."""
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return [False, True]
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        return ordered_values(hp) or list(hp.values)
    return None


def value_at(hp: kt.engine.hyperparameters.HyperParameter, position: float) -> float:
    """The value at `position` (0 low end, 1 high end) of a Float or Int range."""
    low, high = hp.min_value, hp.max_value
    if hp.sampling == "log":
        return low * (high / low) ** position
    if hp.sampling == "reverse_log":
        return high + low - low * (high / low) ** (1 - position)
    return low + position * (high - low)


def value_panel(
    ax: Axes, hp: kt.engine.hyperparameters.HyperParameter, trials: pd.DataFrame, best
) -> None:
    """Draw `hp`'s values against val_accuracy on `ax`; trials where it is inactive are left out."""
    active = trials[trials[hp.name].notna()]
    labels = categories(hp)
    place = {value: i for i, value in enumerate(labels)} if labels is not None else None

    def x(values: pd.Series) -> list:
        return [place[v] for v in values] if place is not None else list(values)

    done = ranked(active)
    ax.plot(x(done[hp.name]), done[SCORE], "o", color="C0", alpha=0.75)
    mark_failed(ax, x(failed(active)[hp.name]))
    title, color = "", "black"
    if not best.empty and pd.notna(best[hp.name].iloc[0]):
        value = best[hp.name].iloc[0]
        ax.plot(x([value]), best[SCORE], **BEST_STYLE, clip_on=False, zorder=3)
        side = edge_side(hp, value)
        title = f"best: {show(value)}" + (f" (at the {side} edge)" if side else "")
        color = "crimson" if side else "black"
    ax.set_title(title, color=color, fontsize="medium")
    if place is not None:
        ax.set_xticks(range(len(labels)), [show(v) for v in labels])
        ax.set_xlim(-0.5, len(labels) - 0.5)
    else:
        if hp.sampling == "log":
            ax.set_xscale("log")
        ax.set_xlim(value_at(hp, -0.04), value_at(hp, 1.04))
    shade_edges(ax, hp, labels)
    ax.margins(y=0.1)  # room for the best trial's star at the top
    ax.set_xlabel(axis_label(hp))
    ax.grid(alpha=0.3)


def shade_edges(ax: Axes, hp: kt.engine.hyperparameters.HyperParameter, labels) -> None:
    """Shade the parts of `hp`'s range where a best value draws an edge warning."""
    if labels is not None:
        for i, value in enumerate(labels):
            if edge_side(hp, value):
                ax.axvspan(i - 0.5, i + 0.5, color=EDGE_COLOR, zorder=0)
        return
    if range_position(hp, hp.max_value) is None:
        return
    if hp.min_value != 0:
        ax.axvspan(hp.min_value, value_at(hp, EDGE), color=EDGE_COLOR, zorder=0)
    ax.axvspan(value_at(hp, 1 - EDGE), hp.max_value, color=EDGE_COLOR, zorder=0)


def axis_label(hp: kt.engine.hyperparameters.HyperParameter) -> str:
    """The name, its scale and the condition under which it is active, if any."""
    label = hp.name + (" (log scale)" if getattr(hp, "sampling", None) == "log" else "")
    for condition in hp.conditions:
        label += f"\n(only where {condition.name} is {' or '.join(map(str, condition.values))})"
    return label


def first_guided_trial(trials: pd.DataFrame, initial_points: int | None) -> int | None:
    """The first trial the Gaussian process chose, or None if it has chosen none yet.

    KerasTuner's Bayesian oracle samples at random until `initial_points` trials completed.
    """
    completed = 0
    for trial_id, status in zip(trials.trial_id, trials.status, strict=True):
        if initial_points is not None and completed >= initial_points:
            return int(trial_id)
        completed += status == "COMPLETED"
    return None


def best_so_far_figure(trials: pd.DataFrame, initial_points: int | None) -> Figure:
    """Every trial's val_accuracy in trial order, the best so far as a step line."""
    figure = Figure(figsize=(10, 5), layout="constrained")
    ax = figure.subplots()
    ids = trials.trial_id.astype(int)
    done = ranked(trials)
    if not done.empty:
        ax.plot(done.trial_id.astype(int), done[SCORE], "o", color="C0", label="trial")
        completed = trials[SCORE].where(trials.status == "COMPLETED")
        ax.step(ids, completed.cummax().ffill(), where="post", color="C1", label="best so far")
        top = done.iloc[0]
        label = f"best: trial {top.trial_id}"
        ax.plot(int(top.trial_id), top[SCORE], **BEST_STYLE, clip_on=False, zorder=3, label=label)
    mark_failed(ax, list(failed(trials).trial_id.astype(int)), label=FAILED_LABEL)
    guided = first_guided_trial(trials, initial_points)
    if guided is not None:
        ax.axvline(guided - 0.5, linestyle=":", color="0.3", label="Bayesian from here on")
    if done.empty:
        ax.set_ylim(0, 1)
    ax.set_xlabel("trial id (the order the trials ran)")
    ax.set_ylabel(SCORE)
    ax.set_title(f"Best {SCORE} so far, by trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # beside the axes: it never hides a trial
        figure.legend(loc="outside right upper")
    return figure
