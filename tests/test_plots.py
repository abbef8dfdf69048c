"""The PNG figures: written with the reports, rebuilt by `report`, readable for any space."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import tune_args
from PIL import Image

from tuning.cli import main
from tuning.commands import saved_config, saved_run
from tuning.diagnosis import edge_warnings
from tuning.evaluate import best_trials
from tuning.plots import (
    BEST_SO_FAR_PNG,
    HYPERPARAMETERS_PNG,
    LEARNING_CURVES_PNG,
    best_so_far_figure,
    hyperparameters_figure,
    learning_curves_figure,
)
from tuning.reports import history_frame, show, trials_frame
from tuning.search import make_tuner

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
    assert (loss.get_xlabel(), loss.get_ylabel()) == ("epoch", "loss")
    assert len(accuracy.get_lines()) == 2 * len(trials)  # training and validation per trial
    (ax,) = best_so_far_figure(trials, initial_points=2).axes
    step = [line for line in ax.get_lines() if line.get_label() == "best so far"][0]
    assert list(step.get_ydata()) == list(trials.val_accuracy.cummax())


def test_full_space_plots_conditional_names_without_errors(tmp_path, data_dir, capsys):
    # Seed 18 draws an sgd trial and an adamw trial: weight_decay is empty in one of them.
    # (A warm start would make the first trial the course's, with adam.)
    extra = ["--max-trials", "2", "--max-epochs", "1", "--seed", "18", "--space", "full"]
    extra += ["--no-warm-start"]
    args = tune_args(tmp_path, data_dir, *extra, "--hypermodel", "mlp", "--train-limit", "300")
    assert main([*args, "--in-process", "--quiet", "--set", "batch_size=128"]) == 0
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
    assert len(decay.get_lines()[0].get_xdata()) == adamw.sum() == 1  # only the adamw trial
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
        }
    )
    (ax,) = best_so_far_figure(trials, initial_points=1).axes
    (crosses,) = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert list(crosses.get_xdata()) == [0, 2]
    step = [line for line in ax.get_lines() if line.get_label() == "best so far"][0]
    assert list(step.get_ydata())[1:] == [0.5, 0.5, 0.5]  # nothing before the first score
    # KerasTuner samples at random until 1 trial completed: trial 1; trial 2 is the GP's.
    (guided,) = [line for line in ax.get_lines() if line.get_label() == "Bayesian from here on"]
    assert list(guided.get_xdata()) == [1.5, 1.5]
