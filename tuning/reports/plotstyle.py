"""How the search's figures (`plots`, `hpfigure`) pick and mark trials, alike in every panel.

- a completed trial: a filled dot at its score (the objective: val_accuracy unless the
  search named another)
- a trial stopped early (median or asha rule, time budget): a hollow triangle at the
  score of its best epoch, the one KerasTuner ranks it by
- a failed trial: a grey cross along the bottom of the panel, since it has no score
- the best trial: a red star over its own marker
- a trial far below all others (a diverged one, near chance): a grey down-triangle on the
  bottom of the panel, so it does not squeeze the others' differences into a line

Better is up in every panel: an objective where lower is better (val_loss) has its y axis
turned over.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from itertools import pairwise

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from tuning.objective import Objective
from tuning.trialstate import SCORED, UNSCORED, TrialState

COMPLETED_STYLE = {"marker": "o", "color": "C0", "alpha": 0.75, "linestyle": "none"}
STOPPED_STYLE = {
    "marker": "^",
    "markerfacecolor": "none",
    "markeredgecolor": "C0",
    "markeredgewidth": 1.5,
    "markersize": 7,
    "linestyle": "none",
}
FAILED_STYLE = {"marker": "x", "color": "0.45", "linestyle": "none"}
BELOW_STYLE = {
    "marker": "v",
    "markerfacecolor": "none",
    "markeredgecolor": "0.45",
    "markeredgewidth": 1.5,
    "markersize": 7,
    "linestyle": "none",
}
BEST_STYLE = {"marker": "*", "color": "crimson", "markersize": 16, "linestyle": "none"}
COMPLETED_LABEL = "completed trial"
STOPPED_LABEL = "stopped early (best epoch's score)"
FAILED_LABEL = "failed trial (no score)"
BELOW_LABEL = "far below the others (off the scale)"
# Far-low scores are left off the scale only when they are few: at most this share of trials.
BELOW_SHARE = 0.2
STAR_ROOM = 0.1  # axes margin, as a fraction of the data range, that keeps a star inside
# A DejaVu Sans character is about 0.6 em wide on average; 0.65 leaves some slack.
CHARACTER_EMS = 0.65


def mark_scored(
    ax: Axes, scored: pd.DataFrame, xs: Sequence, score: str, label: bool = False
) -> None:
    """Plot the `scored` trials at `xs`: completed ones as dots, stopped ones as triangles.

    Both lines are drawn, empty or not, so every panel holds the same lines in the same
    order; only a line with points gets a legend label.
    """
    stopped = [status == TrialState.STOPPED_EARLY for status in scored.status]
    for style, text, kind in (
        (COMPLETED_STYLE, COMPLETED_LABEL, False),
        (STOPPED_STYLE, STOPPED_LABEL, True),
    ):
        rows = [i for i, is_stopped in enumerate(stopped) if is_stopped == kind]
        ys = list(scored[score].iloc[rows])
        ax.plot([xs[i] for i in rows], ys, **style, label=text if label and rows else None)


def scale_floor(scores: pd.Series) -> float | None:
    """The lowest oriented score the y axis shows, when a few far-low ones would flatten the rest.

    The widest gap between neighbouring scores is the cut when it is more than twice the
    spread of the scores above it and at most `BELOW_SHARE` of the trials lie below it: a
    diverged trial near chance (0.1) under nine trials between 0.95 and 0.99. None: show all.
    """
    ordered = sorted(pd.to_numeric(scores, errors="coerce").dropna())
    if len(ordered) < 3:
        return None
    gap, cut = max((high - low, i + 1) for i, (low, high) in enumerate(pairwise(ordered)))
    spread = ordered[-1] - ordered[cut]
    if gap > 2 * spread and cut <= BELOW_SHARE * len(ordered):
        return ordered[cut]
    return None


def set_floor(axes: Sequence[Axes], floor: float | None, top: float, goal: Objective) -> None:
    """Show oriented scores from `floor` to `top` with the stars' margin; all if None.

    Better is up: an objective where lower is better gets its axis turned over.
    """
    for ax in axes:
        ax.yaxis.set_inverted(goal.sign < 0)
    if floor is None:
        return
    room = STAR_ROOM * max(top - floor, 1e-3)
    for ax in axes:
        ax.set_ylim(goal.sign * (floor - room), goal.sign * (top + room))


def mark_below(ax: Axes, xs: list, label: str | None = None) -> None:
    """Mark the trials under the scale's floor on the bottom of `ax`, at their x."""
    if not xs:  # an empty unclipped line breaks constrained layout (matplotlib 3.11)
        return
    bottom = blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot(xs, [0.0] * len(xs), **BELOW_STYLE, transform=bottom, clip_on=False, label=label)


def mark_failed(ax: Axes, xs: list, label: str | None = None) -> None:
    """Mark failed trials, which have no score, as crosses along the bottom of `ax`."""
    if not xs:  # an empty unclipped line breaks constrained layout (matplotlib 3.11)
        return
    bottom = blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot(xs, [0.04] * len(xs), **FAILED_STYLE, transform=bottom, clip_on=False, label=label)


def mark_best(ax: Axes, x: object, score: float, label: str | None = None) -> None:
    """Star the best trial at (`x`, `score`) and leave it room inside the axes.

    Unclipped, so the spine never cuts it; the margin keeps it off the spine and the title.
    """
    ax.plot([x], [score], **BEST_STYLE, clip_on=False, zorder=3, label=label)
    ax.margins(y=STAR_ROOM)


def trial_handles() -> list[Line2D]:
    """Legend entries of the trial markers, for a figure that builds its own legend."""
    return [
        Line2D([], [], **COMPLETED_STYLE, label=COMPLETED_LABEL),
        Line2D([], [], **STOPPED_STYLE, label=STOPPED_LABEL),
        Line2D([], [], **BEST_STYLE, label="best trial"),
        Line2D([], [], **FAILED_STYLE, label=FAILED_LABEL),
    ]


def below_handle() -> Line2D:
    """The legend entry of a trial under the scale's floor."""
    return Line2D([], [], **BELOW_STYLE, label=BELOW_LABEL)


def wrapped(text: str, inches: float, points: float = 12.0) -> str:
    """`text` broken into lines that fit `inches` at a font size of `points`.

    Words stay whole (a `name=value` never splits), so a single very long word overflows.
    """
    width = max(int(inches * 72 / (points * CHARACTER_EMS)), 20)
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
        for line in text.splitlines()
    )


def ranked(trials: pd.DataFrame, goal: Objective) -> pd.DataFrame:
    """The scored trials (completed or stopped early), best first; ties go to the earlier."""
    done = trials[trials.status.isin(SCORED) & trials[goal.name].notna()]
    return done.sort_values(goal.name, ascending=goal.sign < 0, kind="stable")


def floor_of(trials: pd.DataFrame, goal: Objective) -> float | None:
    """The oriented score under which trials are marked off the scale (`scale_floor`)."""
    return scale_floor(goal.sign * ranked(trials, goal)[goal.name])


def under(done: pd.DataFrame, floor: float, goal: Objective) -> pd.DataFrame:
    """The trials of `done` whose oriented score lies under `floor`."""
    return done[goal.sign * done[goal.name] < floor]


def failed(trials: pd.DataFrame) -> pd.DataFrame:
    """The ended trials without a score: failed (diverged, raised, killed) or invalid."""
    return trials[trials.status.isin(UNSCORED)]
