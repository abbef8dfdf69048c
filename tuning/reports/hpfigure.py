"""hyperparameters.png: one panel per searched name, its value against the objective.

The best trial is starred in every panel, and the outer 10% of each range shaded: where a
best value makes `report` warn that the range may need widening. Conditional names (the
full space's) are drawn for the trials where they were active. Every panel shares one y
axis, so panels compare at a glance; `tuning.reports.plotstyle` marks the trials.
"""

from __future__ import annotations

import math

import keras_tuner as kt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tuning.objective import VAL_ACCURACY, Objective
from tuning.reports.diagnosis import EDGE, edge_side, ordered_values, range_position
from tuning.reports.plotstyle import (
    STAR_ROOM,
    below_handle,
    failed,
    floor_of,
    mark_below,
    mark_best,
    mark_failed,
    mark_scored,
    ranked,
    set_floor,
    trial_handles,
    under,
    wrapped,
)
from tuning.reports.tables import show

PANEL_COLUMNS = 3
ONE_ROW_ENTRIES = 5  # legend entries that fit in one row under three panels
# Wide enough for the hyperparameter legend in two rows and a wrapped list of pinned names.
MIN_WIDTH = 9.0
EDGE_COLOR = "0.9"


def hyperparameters_figure(
    trials: pd.DataFrame, hp: kt.HyperParameters, goal: Objective = VAL_ACCURACY
) -> Figure:
    """One panel per searched name: its value against the objective, best starred, edges shaded."""
    searched = [h for h in hp.space if not isinstance(h, kt.engine.hyperparameters.Fixed)]
    pinned = [h for h in hp.space if isinstance(h, kt.engine.hyperparameters.Fixed)]
    columns = min(PANEL_COLUMNS, max(len(searched), 1))
    rows = max(math.ceil(len(searched) / columns), 1)
    width = max(4.4 * columns, MIN_WIDTH)
    figure = Figure(figsize=(width, 3.3 * rows + 1.3), layout="constrained")
    # One scale for every panel, so panels compare at a glance.
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True).ravel()
    best = ranked(trials, goal).head(1)
    floor = floor_of(trials, goal)
    for index, (ax, declared) in enumerate(zip(axes, searched, strict=False)):
        value_panel(ax, declared, trials, best, floor, goal)
        ax.set_ylabel(goal.name if index % columns == 0 else "")
    if best.empty:
        axes[0].set_ylim(0, 1)
    else:
        set_floor(axes[: len(searched)], floor, goal.sign * best[goal.name].iloc[0], goal)
    for ax in axes[len(searched) :]:
        ax.set_axis_off()
    if not searched:
        axes[0].text(0.5, 0.5, "every hyperparameter is pinned", ha="center")
    handles = [*trial_handles(), Patch(color=EDGE_COLOR, label=f"outer {EDGE:.0%} of the range")]
    if floor is not None:
        handles.insert(-1, below_handle())
    # One row where it fits (three panels wide, five entries), else two rows.
    fits = columns == PANEL_COLUMNS and len(handles) <= ONE_ROW_ENTRIES
    ncols = len(handles) if fits else math.ceil(len(handles) / 2)
    figure.legend(handles=handles, loc="outside lower center", ncols=ncols)
    title = f"{goal.name} against each searched hyperparameter"
    if pinned:
        title += "\npinned: " + ", ".join(f"{h.name}={show(h.value)}" for h in pinned)
    figure.suptitle(wrapped(title, width))
    return figure


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
    ax: Axes,
    hp: kt.engine.hyperparameters.HyperParameter,
    trials: pd.DataFrame,
    best: pd.DataFrame,
    floor: float | None,
    goal: Objective,
) -> None:
    """Draw `hp`'s values against the objective on `ax`; trials where it is inactive left out."""
    active = trials[trials[hp.name].notna()]
    labels = categories(hp)
    place = {value: i for i, value in enumerate(labels)} if labels is not None else None

    def x(values: pd.Series) -> list:
        return [place[v] for v in values] if place is not None else list(values)

    done = ranked(active, goal)
    mark_scored(ax, done, x(done[hp.name]), goal.name)
    if floor is not None:
        mark_below(ax, x(under(done, floor, goal)[hp.name]))
    mark_failed(ax, x(failed(active)[hp.name]))
    title, color = "", "black"
    if not best.empty and pd.notna(best[hp.name].iloc[0]):
        value = best[hp.name].iloc[0]
        mark_best(ax, x([value])[0], best[goal.name].iloc[0])
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
        # 6% beyond each end: room for half a star at a value on the range's end.
        ax.set_xlim(value_at(hp, -0.06), value_at(hp, 1.06))
    shade_edges(ax, hp, labels)
    ax.margins(y=STAR_ROOM)  # in every panel, starred or not: they share one y axis
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
