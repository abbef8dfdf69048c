"""The published reference searches are complete and agree with each other and the README."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tuning import layout
from tuning.reports.tables import HISTORY_COLUMNS, evaluated_columns, trials_columns
from tuning.retrain.ablation import VARIANTS
from tuning.store.resume import saved_config

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "results" / "reference"
FILES = (
    layout.TRIALS_CSV,
    layout.TEST_RESULTS_CSV,
    layout.HISTORY_CSV,
    "run.json",
    layout.LEARNING_CURVES_PNG,
    layout.HYPERPARAMETERS_PNG,
    layout.BEST_SO_FAR_PNG,
    layout.REPORT_PAGE,
)
FINISHED = ("COMPLETED", "STOPPED_EARLY")
PUBLISHED = sorted(p.name for p in REFERENCE.iterdir() if p.is_dir()) if REFERENCE.is_dir() else []


def readme_links() -> set[str]:
    """The reference folders whose report.html the README links."""
    text = (ROOT / "README.md").read_text()
    return set(re.findall(r"\(results/reference/([\w-]+)/report\.html\)", text))


def test_every_published_search_is_linked_from_the_readme_and_back():
    assert "mnist" in PUBLISHED
    assert readme_links() == set(PUBLISHED)


@pytest.fixture(scope="module", params=PUBLISHED)
def published(request) -> dict:
    """One published search's files, read."""
    folder = REFERENCE / request.param
    run = json.loads((folder / "run.json").read_text())
    names = list(dict.fromkeys(h["config"]["name"] for h in run["config"]["search_space"]["space"]))
    return {
        "folder": folder,
        "run": run,
        "names": names,
        "trials": pd.read_csv(folder / layout.TRIALS_CSV, dtype={"trial_id": str}),
        "tested": pd.read_csv(folder / layout.TEST_RESULTS_CSV, dtype={"trial_id": str}),
        "history": pd.read_csv(folder / layout.HISTORY_CSV, dtype={"trial_id": str}),
    }


def test_every_file_is_there(published):
    folder = published["folder"]
    assert [f for f in FILES if not (folder / f).is_file() or not (folder / f).stat().st_size] == []
    for png in (layout.LEARNING_CURVES_PNG, layout.HYPERPARAMETERS_PNG, layout.BEST_SO_FAR_PNG):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # confirm writes both tables or neither.
    assert (folder / layout.CONFIRM_CSV).exists() == (folder / layout.CONFIRM_SUMMARY_CSV).exists()


def test_run_json_is_a_finished_search_of_that_dataset(published):
    run, folder = published["run"], published["folder"]
    assert run["status"] in ("finished", "stopped")
    # A search of the card's space is published under its dataset's name, any other space
    # beside it with the space's name added (mnist-full).
    config = run["config"]
    space = "" if config["space"] == "card" else f"-{config['space']}"
    assert f"{config['dataset']}{space}" == folder.name
    assert run["config"]["results_dir"] == f"results/reference/{folder.name}"
    # seconds is the last run's wall time; a resumed search counts its search over every run.
    before = run.get("search_seconds_before", 0.0)
    assert run["search_seconds"] > 0 and run["seconds"] + before >= run["search_seconds"]
    text = (folder / "run.json").read_text()
    assert not re.search(r'"/(work|home|tmp|root|Users)/', text)


def test_trials_csv_has_every_trial_once(published):
    trials, run = published["trials"], published["run"]
    assert list(trials.columns) == trials_columns(published["names"])
    assert [int(i) for i in trials.trial_id] == list(range(len(trials)))  # KerasTuner pads
    cap = saved_config(published["folder"], run).trial_cap  # a budget alone allows 999
    assert 0 < len(trials) <= cap
    assert set(trials.status) <= {*FINISHED, "FAILED"}


def test_history_csv_is_every_epoch_of_every_trial(published):
    trials, history = published["trials"], published["history"]
    assert list(history.columns) == HISTORY_COLUMNS
    assert set(history.trial_id) <= set(trials.trial_id)
    for row in trials[trials.status.isin(FINISHED)].itertuples():
        curve = history[history.trial_id == row.trial_id]
        assert list(curve.epoch) == list(range(1, int(row.epochs) + 1)), row.trial_id
        assert curve.val_accuracy.max() == pytest.approx(row.val_accuracy, abs=1e-6)


def test_test_results_are_the_best_trials_in_order(published):
    trials, tested, run = published["trials"], published["tested"], published["run"]
    finished = trials[trials.status.isin(FINISHED)]
    assert list(tested.columns) == evaluated_columns(published["names"])
    assert list(tested["rank"]) == list(range(1, min(run["config"]["top_n"], len(finished)) + 1))
    by_id = finished.set_index("trial_id")
    assert list(tested.trial_id) == list(
        finished.sort_values("val_accuracy", ascending=False, kind="stable").trial_id[: len(tested)]
    )
    for row in tested.itertuples():
        assert row.val_accuracy == pytest.approx(by_id.loc[row.trial_id, "val_accuracy"])
        for name in published["names"]:
            assert str(getattr(row, name)) == str(by_id.loc[row.trial_id, name]), name
    assert tested.test_accuracy.between(0, 1).all() and tested.test_accuracy.iloc[0] > 0.9


def test_report_page_and_readme_name_the_same_best_trial(published):
    best = published["tested"].iloc[0]
    page = (published["folder"] / layout.REPORT_PAGE).read_text()
    assert f"Trial {best.trial_id}: val_accuracy {best.val_accuracy:.4f}" in page
    assert f"{100 * best.test_accuracy:.2f}%" in page
    row = readme_row(published["folder"].name)
    assert f"| {100 * best.test_accuracy:.2f} % |" in row


def test_readme_row_gives_the_confirmed_mean_where_confirm_ran(published):
    row = readme_row(published["folder"].name)
    summary_path = published["folder"] / layout.CONFIRM_SUMMARY_CSV
    if not summary_path.exists():
        assert "| not yet run |" in row
        return
    test = pd.read_csv(summary_path).set_index("metric").loc["test_accuracy"]
    assert test["runs"] >= 3
    assert f"| {100 * test['mean']:.2f} ± {100 * test['std']:.2f} % |" in row


def test_readme_row_counts_what_the_files_hold(published):
    trials, history, run = published["trials"], published["history"], published["run"]
    row = readme_row(published["folder"].name)
    stopped = (trials.status == "STOPPED_EARLY").sum()
    assert f"| {len(trials)} ({stopped}) | {len(history)} |" in row
    minutes = run["search_seconds"] / 60
    assert re.search(r"\| (?:(\d+) h )?(\d+) min \|", row), row
    hours, mins = re.search(r"\| (?:(\d+) h )?(\d+) min \|", row).groups()
    assert abs(60 * int(hours or 0) + int(mins) - minutes) <= 1


def readme_row(dataset: str) -> str:
    """The README's reference-table row that links `dataset`'s report."""
    link = f"(results/reference/{dataset}/report.html)"
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if link in line]
    assert len(rows) == 1, f"the README should link {link} in one table row"
    return rows[0]


@pytest.mark.parametrize("state", [layout.TUNER_DIR, "tensorboard", "workers"])
def test_git_ignores_search_state_at_any_depth(state):
    # Checkpoints and logs are large and machine-specific; the reports beside them are kept.
    for folder in ("results/mnist", "results/reference/mnist", "results/a/b/c"):
        path = f"{folder}/{state}/trial_0/checkpoint.weights.h5"
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, path
    kept = subprocess.run(
        ["git", "check-ignore", "-q", "results/reference/mnist/trials.csv"], cwd=ROOT, check=False
    )
    assert kept.returncode == 1


def test_a_published_ablation_retrains_the_best_trial(published):
    folder, trials = published["folder"], published["trials"]
    if not (folder / layout.ABLATION_CSV).exists():
        assert not (folder / layout.ABLATION_PNG).exists()
        return
    assert (folder / layout.ABLATION_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ablation = pd.read_csv(folder / layout.ABLATION_CSV, dtype={"trial_id": str})
    assert list(ablation.variant) == list(VARIANTS)
    best = trials.loc[trials.val_accuracy.idxmax()]
    assert set(ablation.trial_id) == {best.trial_id}
    row = ablation.set_index("variant").loc["best"]
    if best.status == "COMPLETED":  # retrained with its own seed and epochs: the trial again
        assert row.val_accuracy == pytest.approx(best.val_accuracy, abs=1e-4)
        tested = published["tested"].iloc[0].test_accuracy
        assert row.test_accuracy == pytest.approx(tested, abs=1e-4)
    else:  # the same epochs first, then on where the search's budget or a rule stopped it
        assert row.val_accuracy >= best.val_accuracy - 1e-4
        assert row.epochs >= best.epochs
    assert "Ablation" in (folder / layout.REPORT_PAGE).read_text()
