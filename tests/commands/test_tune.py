"""End to end through the CLI: real KerasTuner searches on the real datasets, tiny budgets."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from hypermodels import space
from tuning import hardware, layout
from tuning.cli.main import main
from tuning.idx import FILES
from tuning.reports.tables import TRIALS_COLUMNS, evaluated_columns, trials_columns

from helpers import SMALL, read_csv, snapshot, tune_args


def test_search_writes_trials_csv(tiny_search):
    trials = read_csv(tiny_search / "trials.csv")
    assert list(trials.columns) == TRIALS_COLUMNS
    assert list(trials.trial_id) == ["0", "1"]
    assert set(trials.status) == {"COMPLETED"}
    assert trials.val_accuracy.between(0.0, 1.0).all()
    assert trials.epochs.between(1, 2).all()
    assert (trials.best_epoch <= trials.epochs).all()
    assert (trials.final_lr > 0).all() and (trials.seconds > 0).all()
    assert trials.augment_factor.between(0.002, 0.3).all()
    assert trials.dropout.between(0.0, 0.7).all()
    assert trials.l1.isin(space.REGULARIZER_STRENGTHS).all()
    assert trials.learning_rate.between(2e-5, 1e-2).all()
    assert trials.batch_size.isin(space.BATCH_SIZES).all()


def test_run_json_records_config_source_and_versions(tiny_search, data_dir):
    run = json.loads((tiny_search / "run.json").read_text())
    assert run["status"] == "finished"
    assert run["config"]["dataset"] == "mnist" and run["config"]["max_trials"] == 2
    assert run["config"]["initial_points"] == 2
    assert run["config"]["lr_factor"] == 0.3787
    assert run["seconds"] > 0 and run["finished_at"] >= run["started_at"]
    # The path the trials trained on, and what decides its speed on this machine.
    assert run["training"] == hardware.resolved(hardware.training_path("fast", "float32"))
    assert set(run["machine"]["cpu_features"]) == hardware.cpu_flags() & set(hardware.SHOWN_FLAGS)
    assert run["machine"]["gpus"] == hardware.describe_machine()["gpus"]
    assert list(pd.read_csv(tiny_search / "trials.csv").precision) == ["float32", "float32"]
    # Each trial's process start-up, TensorFlow's import included, before its first batch.
    assert list(run["startup_seconds"]) == ["0", "1"]
    assert all(seconds > 0 for seconds in run["startup_seconds"].values())
    source = run["data_source"]
    for name in FILES.values():
        expected = hashlib.sha256((data_dir / "mnist" / name).read_bytes()).hexdigest()
        assert source["sha256"][name] == expected
    assert run["packages"]["keras-tuner"] and run["packages"]["keras"].startswith("3.")
    # Results are published: no absolute path of this machine, the data's folder and ours as given.
    assert not [s for s in strings_in(run) if s.startswith("/")]
    assert (Path.cwd() / run["config"]["results_dir"]).resolve() == tiny_search.resolve()


def strings_in(value) -> list[str]:
    """Every string in a JSON value, at any depth."""
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return [value] if isinstance(value, str) else []


def test_history_csv_has_every_epoch_of_every_trial(tiny_search):
    history = read_csv(tiny_search / "history.csv")
    trials = read_csv(tiny_search / "trials.csv")
    assert list(history.columns) == [
        "trial_id",
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    ]
    assert history.notna().all().all()
    for trial in trials.itertuples():
        epochs = history[history.trial_id == trial.trial_id]
        assert list(epochs.epoch) == list(range(1, trial.epochs + 1))
        assert epochs.val_accuracy.max() == pytest.approx(trial.val_accuracy)
        assert epochs.learning_rate.iloc[-1] == pytest.approx(trial.final_lr)


def test_resume_with_more_trials_keeps_finished_trials(search_copy, data_dir):
    before = read_csv(search_copy / "trials.csv")
    args = tune_args(search_copy, data_dir, "--max-trials", "3", "--max-epochs", "2")
    assert main(args) == 0
    after = read_csv(search_copy / "trials.csv")
    assert list(after.trial_id) == ["0", "1", "2"]
    pd.testing.assert_frame_equal(after.iloc[:2], before)
    assert after.status.iloc[2] == "COMPLETED"


def test_a_search_saved_before_the_rules_changed_resumes_under_its_own(search_copy, data_dir):
    # A run.json from before successive halving needed two results at a rung, and before
    # the Gaussian process modelled each trial's fidelity, fitted normal scores, seeded its
    # restarts by trial, counted each trial at the rungs it passed and could fit the trials
    # at one shared rung.
    path = search_copy / "run.json"
    run = json.loads(path.read_text())
    rules = (
        "rung_min_results",
        "fidelity_gp",
        "gp_normal_scores",
        "gp_restart_seeds",
        "gp_rung_scores",
        "gp_shared_rung",
    )
    for key in rules:
        del run["config"][key]
    path.write_text(json.dumps(run))
    assert main(tune_args(search_copy, data_dir, "--max-trials", "3", "--max-epochs", "2")) == 0
    config = json.loads(path.read_text())["config"]
    assert [config[key] for key in rules] == [1, False, False, False, False, False]
    assert len(read_csv(search_copy / "trials.csv")) == 3


def test_finished_search_run_again_trains_nothing(search_copy, data_dir):
    checkpoints = {p: p.stat().st_mtime_ns for p in search_copy.rglob("*.weights.h5")}
    args = tune_args(search_copy, data_dir, "--max-trials", "2", "--max-epochs", "2")
    assert main(args) == 0
    assert {p: p.stat().st_mtime_ns for p in search_copy.rglob("*.weights.h5")} == checkpoints
    assert len(read_csv(search_copy / "trials.csv")) == 2


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (["--set", "dropout=0.5"], "pins"),
        (["--max-epochs", "3"], "max_epochs"),
        (["--hypermodel", "cnn"], "hypermodel"),
        (["--seed", "7"], "seed"),
        (["--initial-points", "1"], "initial_points"),
        (["--space", "full"], "space"),
        (["--objective", "val_loss"], "objective"),
    ],
)
def test_resume_with_other_settings_is_refused(search_copy, data_dir, capsys, extra, key):
    before = snapshot(search_copy)
    args = tune_args(search_copy, data_dir, "--max-trials", "2", "--max-epochs", "2")
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and f"{key}:" in err[0]
    assert snapshot(search_copy) == before


def test_a_search_saved_with_older_ranges_is_refused_with_a_way_on(search_copy, data_dir, capsys):
    run = json.loads((search_copy / "run.json").read_text())
    declared = run["config"]["search_space"]["space"]
    (augment,) = [h for h in declared if h["config"]["name"] == "augment_factor"]
    augment["config"]["min_value"] = 0.01  # as an earlier version declared it
    (search_copy / "run.json").write_text(json.dumps(run))
    before = snapshot(search_copy)
    args = tune_args(search_copy, data_dir, "--max-trials", "3", "--max-epochs", "2")
    assert main(args) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "searched over other ranges of augment_factor (this version's search" in err
    assert err.endswith("start a new search with another --results-dir, or --overwrite")
    assert snapshot(search_copy) == before


def test_overwrite_starts_afresh(search_copy, data_dir, monkeypatch):
    # In the default results dir, as `make tune-mnist ARGS=--overwrite` runs it.
    monkeypatch.chdir(search_copy.parent)
    (search_copy.parent / "results").mkdir()
    search_copy = search_copy.rename(search_copy.parent / "results" / "mnist")
    # What confirm and ablate wrote of the earlier search's best is not of the new search.
    for name in layout.RETRAINED:
        (search_copy / name).write_text("variant,seed,metric\nbest,1,test_accuracy\n")
    args = tune_args(search_copy, data_dir, "--max-trials", "1", "--max-epochs", "1")
    at = args.index("--results-dir")
    args = args[:at] + args[at + 2 :]
    assert main([*args, "--seed", "7", "--overwrite"]) == 0  # a resume would refuse the seed
    trials = read_csv(search_copy / "trials.csv")
    assert list(trials.trial_id) == ["0"]
    assert json.loads((search_copy / "run.json").read_text())["config"]["seed"] == 7
    assert [name for name in layout.RETRAINED if (search_copy / name).exists()] == []
    page = (search_copy / layout.REPORT_PAGE).read_text()
    assert "<h2>Ablation</h2>" not in page and "Confirmed with other seeds" not in page


def test_a_lower_is_better_objective_ranks_stops_and_reports_the_lowest_first(
    tmp_path, data_dir, capsys
):
    extra = ["--objective", "val_loss", "--max-trials", "3", "--max-epochs", "2", *SMALL]
    stopping = ["--rung-epochs", "1", "--eta", "2", "--no-warm-start"]
    assert main(tune_args(tmp_path, data_dir, *extra, *stopping)) == 0
    out = capsys.readouterr().out
    assert re.search(r"^trial 3/3 \(id 2\) \| val_loss \d\.\d{4} \| best", out, re.MULTILINE)
    trials = read_csv(tmp_path / "trials.csv")
    assert list(trials.columns[:3]) == ["trial_id", "status", "val_loss"]
    history = read_csv(tmp_path / "history.csv")
    for trial in trials.itertuples():  # the best epoch is the lowest loss's
        losses = history[history.trial_id == trial.trial_id].val_loss
        assert trial.best_epoch == int(losses.to_numpy().argmin()) + 1
        assert trial.val_loss == pytest.approx(losses.min())
    tested = read_csv(tmp_path / "test_results.csv")
    assert list(tested.val_loss) == sorted(trials.val_loss)[:2]  # --top-n 2
    for reason in trials.reason.dropna():  # ASHA said it in the objective's terms
        assert "best val_loss" in reason and "above the top 1/2 cutoff" in reason
    page = (tmp_path / "report.html").read_text()
    assert f"Trial {tested.trial_id.iloc[0]}: val_loss {tested.val_loss.iloc[0]:.4f}" in page
    assert "<dt>ranked by</dt><dd>val_loss, lower is better</dd>" in page


def test_pinned_values_hold_in_every_trial_on_fashion_mnist(tmp_path, data_dir):
    pins = ["--set", "augment_factor=0", "--set", "batch_size=512", "--set", "l2=0.0005"]
    extra = ["--max-trials", "2", "--max-epochs", "1", "--top-n", "1", *pins]
    assert main(tune_args(tmp_path, data_dir, *extra, dataset="fashion-mnist")) == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert len(trials) == 2
    assert (trials.augment_factor == 0).all() and (trials.batch_size == 512).all()
    assert (trials.l2 == 0.0005).all()
    assert trials.dropout.nunique() == 2  # the unpinned names are still searched
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["config"]["lr_factor"] == 0.32
    results = read_csv(tmp_path / "test_results.csv")
    assert results.test_accuracy.iloc[0] > 0.3


def test_same_seed_reproduces_the_same_trials(tmp_path, data_dir):
    frames = []
    for run in ("a", "b"):
        args = tune_args(tmp_path / run, data_dir, "--max-trials", "2", "--max-epochs", "1")
        assert main([*args, "--train-limit", "1000", "--top-n", "1"]) == 0  # trials.csv alone
        frames.append(read_csv(tmp_path / run / "trials.csv"))
    pd.testing.assert_frame_equal(frames[0][list(space.NAMES)], frames[1][list(space.NAMES)])
    assert (frames[0].val_accuracy - frames[1].val_accuracy).abs().max() < 0.01


def test_fully_pinned_search_says_why_it_stopped_early(tmp_path, data_dir, capsys):
    pins = [f"--set={pin}" for pin in ("augment_factor=0", "dropout=0.5", "l1=0", "l2=0")]
    pins += ["--set=learning_rate=0.001", "--set=batch_size=128"]
    args = tune_args(tmp_path, data_dir, "--max-trials", "3", "--max-epochs", "1", *pins)
    assert main([*args, "--train-limit", "500"]) == 0
    assert len(read_csv(tmp_path / "trials.csv")) == 1
    assert "stopped after 1 of 3 trials" in capsys.readouterr().out


def test_executions_per_trial_average_into_one_row(tmp_path, data_dir):
    extra = ["--max-trials", "1", "--max-epochs", "1", "--executions-per-trial", "2"]
    assert main(tune_args(tmp_path, data_dir, *extra)) == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert len(trials) == 1 and trials.status.iloc[0] == "COMPLETED"
    assert 0.1 < trials.val_accuracy.iloc[0] <= 1.0
    assert json.loads((tmp_path / "run.json").read_text())["config"]["executions_per_trial"] == 2


def test_full_space_search_reports_every_name(tmp_path, data_dir, capsys):
    # Seed 18 draws one adamw trial and one sgd trial, so both kinds of weight_decay cell show
    # (without a warm start, whose first trial is the course's, with adam).
    pins = ["--set", "filters=32", "--set", "activation=elu"]
    extra = ["--max-trials", "2", "--max-epochs", "1", "--train-limit", "500", "--seed", "18"]
    extra += ["--no-warm-start"]
    args = tune_args(tmp_path, data_dir, *extra, *pins, hypermodel="cnn")  # filters: cnn only
    assert main([*args, "--space", "full"]) == 0
    names = [*space.NAMES, *space.FULL_NAMES]
    trials = read_csv(tmp_path / "trials.csv")
    results = read_csv(tmp_path / "test_results.csv")
    assert list(trials.columns) == trials_columns(names)
    assert list(results.columns) == evaluated_columns(names)
    assert set(trials.status) == {"COMPLETED"}
    assert sorted(trials.optimizer) == ["adamw", "sgd"]
    for frame in (trials, results):
        # KerasTuner's inactive value: an empty cell exactly where the optimizer is not adamw.
        assert (frame.weight_decay.isna() == (frame.optimizer != "adamw")).all()
    assert trials.weight_decay.dropna().isin([0.0, 1e-5, 1e-4, 1e-3, 1e-2]).all()
    assert (trials.activation == "elu").all() and (trials.filters == 32).all()
    assert trials.batch_norm.dtype == bool and trials.lr_schedule.isin(["plateau", "cosine"]).all()
    assert (trials.final_lr > 0).all()
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["config"]["space"] == "full"
    assert [h["config"]["name"] for h in run["config"]["search_space"]["space"]] == names
    summary = capsys.readouterr().out
    assert "  activation      elu" in summary

    before = snapshot(tmp_path)
    assert main(tune_args(tmp_path, data_dir, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "space: full -> card" in err[0]
    assert snapshot(tmp_path) == before
