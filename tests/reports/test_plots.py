"""The PNG figures: written with the reports, rebuilt by `report`, readable for any space."""

from __future__ import annotations

import keras_tuner as kt
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from PIL import Image

from hypermodels import space
from tuning.cli.main import main
from tuning.engine.evaluate import best_trials
from tuning.engine.search import make_tuner
from tuning.objective import Objective
from tuning.reports.diagnosis import edge_warnings
from tuning.reports.hpfigure import hyperparameters_figure
from tuning.reports.plots import (
    BEST_SO_FAR_PNG,
    HYPERPARAMETERS_PNG,
    LEARNING_CURVES_PNG,
    LOSS_LABEL,
    TIME_LABEL,
    best_so_far_figure,
    learning_curves_figure,
    png_bytes,
)
from tuning.reports.plotstyle import STOPPED_LABEL, scale_floor
from tuning.reports.tables import history_frame, show, trials_columns, trials_frame
from tuning.store.resume import saved_config, saved_run
from tuning.trialstate import TrialState

from helpers import tune_args

PNGS = (LEARNING_CURVES_PNG, HYPERPARAMETERS_PNG, BEST_SO_FAR_PNG)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width >= 600 and image.height >= 400
        image.verify()  # the whole file decodes


def saved_tuner(results):
    return make_tuner(saved_config(results, saved_run(results)))


def star(ax) -> list:
    """The best trial's marker on `ax`, if drawn."""
    return [line for line in ax.get_lines() if line.get_marker() == "*"]


def labelled(ax, label: str) -> list:
    """The lines of `ax` with legend label `label`."""
    return [line for line in ax.get_lines() if line.get_label() == label]


def triangles(ax) -> list:
    """The stopped-early trials' marker line on `ax`: hollow triangles."""
    return [
        line
        for line in ax.get_lines()
        if line.get_marker() == "^" and line.get_markerfacecolor() == "none"
    ]


def card_space(pinned: bool = False) -> kt.HyperParameters:
    """The card space as declared, or with every name pinned to its course value."""
    hp = kt.HyperParameters()
    for name, declare in space.DECLARATIONS.items():
        if pinned:
            hp.Fixed(name, space.COURSE_VALUES["mnist"][name])
        else:
            declare(hp)
    return hp


# trial_id, status, val_accuracy, dropout, learning_rate, seconds. The best trial (3) was
# stopped early, at the top of dropout's range; trial 4 has no time recorded.
MIXED = [
    ("0", "COMPLETED", 0.91, 0.1, 1e-3, 30.0),
    ("1", TrialState.STOPPED_EARLY, 0.85, 0.3, 1e-4, 12.0),
    ("2", "FAILED", None, 0.5, 5e-3, 6.0),
    ("3", TrialState.STOPPED_EARLY, 0.95, 0.7, 1e-2, 18.0),
    ("4", "COMPLETED", 0.90, 0.0, 2e-5, None),
    ("5", "COMPLETED", 0.93, 0.2, 3e-3, 24.0),
]


def mixed_trials() -> pd.DataFrame:
    """A trials.csv frame of completed, stopped-early and failed trials over the card space."""
    rows = [
        {
            "trial_id": trial_id,
            "status": status,
            "val_accuracy": score,
            "augment_factor": 0.002,
            "dropout": dropout,
            "l1": 0.0,
            "l2": 1e-3,
            "learning_rate": learning_rate,
            "batch_size": 512,
            "seconds": seconds,
        }
        for trial_id, status, score, dropout, learning_rate, seconds in MIXED
    ]
    return pd.DataFrame(rows, columns=trials_columns(space.NAMES))


def mixed_history(epochs: int) -> pd.DataFrame:
    """`epochs` epochs of made-up curves for every scored trial of `mixed_trials`."""
    rows = [
        {
            "trial_id": trial_id,
            "epoch": epoch,
            "loss": 1.0 / epoch,
            "accuracy": score - 0.1 / epoch,
            "val_loss": 1.2 / epoch,
            "val_accuracy": score,
        }
        for trial_id, _, score, *_ in MIXED
        if score is not None
        for epoch in range(1, epochs + 1)
    ]
    return pd.DataFrame(rows)


def rendered(figure):
    """`figure` laid out and drawn by the Agg canvas, as the PNG is; returns its renderer."""
    FigureCanvasAgg(figure)
    figure.canvas.draw()
    return figure.canvas.get_renderer()


def inside(inner, outer, slack: float = 1.0) -> bool:
    """Whether display box `inner` lies within `outer`, give or take `slack` pixels."""
    return (
        inner.x0 >= outer.x0 - slack
        and inner.y0 >= outer.y0 - slack
        and inner.x1 <= outer.x1 + slack
        and inner.y1 <= outer.y1 + slack
    )


def test_search_writes_every_png(tiny_search):
    for name in PNGS:
        assert_png(tiny_search / name)


def test_report_rebuilds_the_pngs_and_says_what_the_best_trial_shows(search_copy, capsys):
    for name in PNGS:
        (search_copy / name).unlink()
    assert main(["report", str(search_copy)]) == 0
    for name in PNGS:
        assert_png(search_copy / name)
    out = capsys.readouterr().out
    assert f"wrote {search_copy / HYPERPARAMETERS_PNG}" in out
    assert "failed trials: 0 of 2 (0%)" in out
    tuner = saved_tuner(search_copy)
    (best,) = best_trials(tuner, 1)
    expected = edge_warnings(tuner.oracle.hyperparameters, best.hyperparameters.values)
    assert [line for line in out.splitlines() if line.startswith("warning:")] == expected


def test_hyperparameter_panels_follow_the_declared_ranges(tiny_search):
    tuner = saved_tuner(tiny_search)
    trials = trials_frame(tuner)
    figure = hyperparameters_figure(trials, tuner.oracle.hyperparameters)
    panels = {ax.get_xlabel(): ax for ax in figure.axes if ax.get_visible() and ax.axison}
    assert sorted(panels) == sorted(
        [
            "augment_factor (log scale)",
            "dropout",
            "l1",
            "l2",
            "learning_rate (log scale)",
            "batch_size",
        ]
    )
    assert panels["learning_rate (log scale)"].get_xscale() == "log"
    assert panels["dropout"].get_xscale() == "linear"
    low, high = panels["learning_rate (log scale)"].get_xlim()
    assert low < 1e-4 and 1e-2 < high < 1.5e-2  # the whole declared range, a little margin
    ticks = [t.get_text() for t in panels["batch_size"].get_xticklabels()]
    assert ticks == ["32", "64", "128", "256", "512"]
    best = trials.loc[trials.val_accuracy.idxmax()]
    for ax in panels.values():
        (marker,) = star(ax)
        assert marker.get_ydata()[0] == pytest.approx(best.val_accuracy)
        assert ax.get_title().startswith("best: ")
    (lr_star,) = star(panels["learning_rate (log scale)"])
    assert lr_star.get_xdata()[0] == pytest.approx(best.learning_rate)


def test_learning_curves_and_best_so_far_show_every_trial(tiny_search):
    tuner = saved_tuner(tiny_search)
    trials, history = trials_frame(tuner), history_frame(tuner)
    accuracy, loss = learning_curves_figure(history, trials).axes
    assert (accuracy.get_xlabel(), accuracy.get_ylabel()) == ("epoch", "accuracy")
    assert (loss.get_xlabel(), loss.get_ylabel()) == ("epoch", LOSS_LABEL)
    assert "L1/L2 penalties" in loss.get_ylabel()  # Keras adds them to loss and val_loss
    # Penalties can make one trial's loss 50 times the others': a linear axis flattens them.
    assert loss.get_yscale() == "log"
    assert len(accuracy.get_lines()) == 2 * len(trials)  # training and validation per trial
    by_trial, by_time = best_so_far_figure(trials, initial_points=2).axes
    for ax in (by_trial, by_time):
        (step,) = labelled(ax, "best so far")
        assert list(step.get_ydata()) == list(trials.val_accuracy.cummax())


def test_full_space_plots_conditional_names_without_errors(tmp_path, data_dir, capsys):
    # Seed 18 draws an sgd trial and an adamw trial: weight_decay is empty in one of them.
    # (A warm start would make the first trial the course's, with adam.)
    extra = ["--max-trials", "2", "--max-epochs", "1", "--seed", "18", "--space", "full"]
    extra += ["--no-warm-start"]
    args = tune_args(tmp_path, data_dir, *extra, "--train-limit", "300")
    assert main([*args, "--quiet", "--set", "batch_size=128", "--top-n", "1"]) == 0  # plots only
    for name in PNGS:
        assert_png(tmp_path / name)
    tuner = saved_tuner(tmp_path)
    trials = trials_frame(tuner)
    assert sorted(trials.optimizer) == ["adamw", "sgd"]
    figure = hyperparameters_figure(trials, tuner.oracle.hyperparameters)
    assert "pinned: batch_size=128" in figure.get_suptitle()
    panels = {ax.get_xlabel().split()[0]: ax for ax in figure.axes if ax.axison}
    assert len(panels) == 13  # 14 names of the mlp's full space, batch_size pinned
    decay = panels["weight_decay"]
    assert "only where optimizer is adamw" in decay.get_xlabel()
    adamw = (trials.optimizer == "adamw") & trials.val_accuracy.notna()
    scored = decay.get_lines()[:2]  # completed trials, then stopped ones
    assert sum(len(line.get_xdata()) for line in scored) == adamw.sum() == 1  # only adamw's
    ticks = [t.get_text() for t in panels["batch_norm"].get_xticklabels()]
    assert ticks == ["False", "True"]
    # The winner's augment_factor (0.00213 here) lies in the lowest 10% of 0.002 to 0.3 on its
    # log scale. Its dropout 0 and activity_l1 0 are off, no edge.
    best = trials.loc[trials.val_accuracy.idxmax()]
    warnings = [line for line in capsys.readouterr().out.splitlines() if "warning:" in line]
    assert len(warnings) == 1
    assert f"the best trial's augment_factor {show(best.augment_factor)} " in warnings[0]
    assert "lowest 10%" in warnings[0]
    assert panels["augment_factor"].get_title().endswith("(at the low edge)")
    assert not panels["dropout"].get_title().endswith("edge)")


def test_failed_trials_are_crosses_and_the_best_so_far_skips_them():
    trials = pd.DataFrame(
        {
            "trial_id": ["0", "1", "2", "3"],
            "status": ["FAILED", "COMPLETED", "FAILED", "COMPLETED"],
            "val_accuracy": [None, 0.5, None, 0.4],
            "seconds": [6.0, 60.0, 12.0, 30.0],
        }
    )
    ax, by_time = best_so_far_figure(trials, initial_points=1).axes
    (crosses,) = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert list(crosses.get_xdata()) == [0, 2]
    (step,) = labelled(ax, "best so far")
    assert list(step.get_ydata())[1:] == [0.5, 0.5, 0.5]  # nothing before the first score
    # KerasTuner samples at random until 1 trial completed: trial 1; trial 2 is the GP's.
    (guided,) = labelled(ax, "Bayesian from here on")
    assert list(guided.get_xdata()) == [1.5, 1.5]
    # On the time axis a failed trial ends when its own seconds are spent too.
    (crosses,) = [line for line in by_time.get_lines() if line.get_marker() == "x"]
    assert list(crosses.get_xdata()) == pytest.approx([0.1, 1.3])
    (guided,) = labelled(by_time, "Bayesian from here on")
    assert list(guided.get_xdata()) == pytest.approx([1.1, 1.1])  # when trial 1 ended


def test_stopped_trials_are_triangles_and_count_for_the_best():
    trials = mixed_trials()
    figure = hyperparameters_figure(trials, card_space())
    panels = {ax.get_xlabel(): ax for ax in figure.axes if ax.axison}
    (stopped,) = triangles(panels["dropout"])
    points = sorted(zip(stopped.get_xdata(), stopped.get_ydata(), strict=True))
    assert points == [(0.3, 0.85), (0.7, 0.95)]
    completed = panels["dropout"].get_lines()[0]
    assert sorted(completed.get_xdata()) == [0.0, 0.1, 0.2]
    (best,) = star(panels["dropout"])
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (0.7, 0.95)  # stopped trial 3
    assert panels["dropout"].get_title() == "best: 0.7 (at the high edge)"
    assert STOPPED_LABEL in [text.get_text() for text in figure.legends[0].get_texts()]
    by_trial, by_time = best_so_far_figure(trials, initial_points=2).axes
    (stopped,) = triangles(by_trial)
    assert sorted(stopped.get_xdata()) == [1, 3]
    (step,) = labelled(by_trial, "best so far")
    assert list(step.get_ydata()) == [0.91, 0.91, 0.91, 0.95, 0.95, 0.95]
    assert labelled(by_trial, "best: trial 3")
    # Trials 0 and 1 (stopped, still COMPLETED to KerasTuner) were the 2 random ones.
    (guided,) = labelled(by_trial, "Bayesian from here on")
    assert list(guided.get_xdata()) == [1.5, 1.5]
    legend = by_trial.figure.legends[0]
    assert STOPPED_LABEL in [text.get_text() for text in legend.get_texts()]
    legend = learning_curves_figure(mixed_history(3), trials).legends[0]
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels[:2] == ["trial 3 (0.9500, stopped)", "trial 5 (0.9300)"]


def test_best_so_far_has_a_panel_by_search_time():
    trials = mixed_trials()
    by_trial, by_time = best_so_far_figure(trials, initial_points=2).axes
    assert by_time.get_xlabel() == TIME_LABEL
    # Minutes of training when each trial ended: failed trial 2's count, trial 4's is unknown.
    minutes = [0.5, 0.7, 0.8, 1.1, 1.1, 1.5]
    (step,) = labelled(by_time, "best so far")
    assert list(step.get_xdata()) == pytest.approx(minutes)
    assert list(step.get_ydata()) == [0.91, 0.91, 0.91, 0.95, 0.95, 0.95]
    (stopped,) = triangles(by_time)
    assert sorted(stopped.get_xdata()) == pytest.approx([0.7, 1.1])
    (completed,) = labelled(by_time, "completed trial")
    assert sorted(completed.get_xdata()) == pytest.approx([0.5, 1.1, 1.5])
    (best,) = star(by_time)
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (pytest.approx(1.1), 0.95)
    (crosses,) = [line for line in by_time.get_lines() if line.get_marker() == "x"]
    assert list(crosses.get_xdata()) == pytest.approx([0.8])
    (guided,) = labelled(by_time, "Bayesian from here on")
    assert list(guided.get_xdata()) == pytest.approx([0.7, 0.7])  # trial 2 starts


@pytest.mark.parametrize("epochs", [1, 2])
def test_short_curves_show_every_epoch_on_whole_epoch_ticks(epochs):
    figure = learning_curves_figure(mixed_history(epochs), mixed_trials())
    rendered(figure)
    for ax in figure.axes:
        validation, training = ax.get_lines()[:2]
        assert training.get_linestyle() == "--"
        assert training.get_marker() == "o" and training.get_markerfacecolor() == "none"
        assert validation.get_marker() == "o"
        assert ax.get_xlim() == (0.5, epochs + 0.5)
        low, high = ax.get_xlim()
        assert [t for t in ax.get_xticks() if low <= t <= high] == list(range(1, epochs + 1))
    assert figure.axes[1].get_ylabel() == LOSS_LABEL


def test_nothing_of_the_all_pinned_figure_falls_outside_it():
    figure = hyperparameters_figure(mixed_trials(), card_space(pinned=True))
    assert "learning_rate=0.00168" in figure.get_suptitle()
    renderer = rendered(figure)
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()]
    assert len(texts) >= 6  # the title, the note and the legend's 5 entries at least
    for artist in [*texts, *figure.legends]:
        assert inside(artist.get_window_extent(renderer), figure.bbox), artist
    assert png_bytes(figure)[:8] == PNG_MAGIC


def test_best_trial_stars_at_the_ends_of_a_range_are_drawn_whole():
    figure = hyperparameters_figure(mixed_trials(), card_space())
    by_trial, by_time = best_so_far_figure(mixed_trials(), initial_points=2).axes
    for drawn in (figure, by_trial.figure):
        renderer = rendered(drawn)
        for ax in drawn.axes:
            for line in star(ax):
                assert inside(line.get_window_extent(renderer), ax.bbox, slack=0), ax
    # The best trial's values lie at the ends: dropout 0.7, learning_rate 1e-2, batch 512.
    assert len([ax for ax in figure.axes if star(ax)]) == 6


@pytest.mark.parametrize(
    ("scores", "floor"),
    [
        ([0.996, 0.969, 0.993, 0.992, 0.948, 0.989, 0.988, 0.106, 0.992, 0.989], 0.948),
        ([0.91, 0.85, 0.95, 0.90, 0.93], None),  # evenly spread: all shown
        ([0.99, 0.98, 0.1, 0.1, 0.11], None),  # most trials low: nothing hidden
        ([0.99, 0.1], None),  # too few trials to call one an outlier
    ],
)
def test_scale_floor_leaves_only_a_few_far_low_scores_off_the_scale(scores, floor):
    assert scale_floor(pd.Series(scores)) == floor


def test_a_diverged_trial_sits_on_the_bottom_instead_of_flattening_the_rest():
    trials = mixed_trials()
    trials.loc[len(trials)] = {**trials.iloc[0], "trial_id": "6", "val_accuracy": 0.098}
    hp = space.search_space({"augment_factor": 0.002, "l1": 0.0, "l2": 1e-3, "batch_size": 512})
    for figure in (hyperparameters_figure(trials, hp), best_so_far_figure(trials, 2)):
        rendered(figure)
        for ax in [ax for ax in figure.axes if ax.has_data()]:
            assert ax.get_ylim()[0] > 0.8  # 0.85 to 0.95 fill the panel
            below = [line for line in ax.get_lines() if line.get_marker() == "v"]
            assert len(below) == 1 and len(below[0].get_xdata()) == 1


def test_a_lower_is_better_objective_is_drawn_best_up_with_its_lowest_starred():
    loss = Objective("val_loss", "min")
    trials = pd.DataFrame(
        {
            "trial_id": ["0", "1", "2", "3"],
            "status": ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"],
            "val_loss": [0.6, 0.3, None, 0.5],
            "seconds": [6.0, 60.0, 12.0, 30.0],
        }
    )
    figure = best_so_far_figure(trials, initial_points=1, goal=loss)
    ax = figure.axes[0]
    assert ax.yaxis_inverted() and ax.get_ylabel() == "val_loss"
    (step,) = labelled(ax, "best so far")
    assert list(step.get_ydata()) == [0.6, 0.3, 0.3, 0.3]  # the running minimum
    (star,) = labelled(ax, "best: trial 1")
    assert list(star.get_ydata()) == [0.3]
