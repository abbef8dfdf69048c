"""The command line: every option documented, every bad input one `error:` line and status 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tuning.cli.main import main

from helpers import (
    REPO,
    snapshot,
    tune_args,
)

TUNE_OPTIONS = [
    "--dataset",
    "--hypermodel",
    "--space",
    "--max-trials",
    "--initial-points",
    "--max-epochs",
    "--executions-per-trial",
    "--train-limit",
    "--top-n",
    "--seed",
    "--results-dir",
    "--data-dir",
    "--set",
    "--keep-checkpoints",
    "--max-failures",
    "--time-budget",
    "--precision",
    "--config",
    "--quiet",
    "--overwrite",
]


def test_tune_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["tune", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for option in TUNE_OPTIONS:
        assert option in text
    for name in ("augment_factor", "dropout", "l1", "l2", "learning_rate", "batch_size"):
        assert name in text
    for name in ("activation", "initializer", "batch_norm", "optimizer", "weight_decay"):
        assert name in text
    for name in ("bias_l2", "activity_l1", "filters", "lr_schedule", "{card,full}"):
        assert name in text


@pytest.mark.processes
def test_module_and_script_reach_the_same_main():
    script = Path(sys.executable).with_name("tuning")  # installed beside the interpreter
    for command in ([sys.executable, "-m", "tuning"], [str(script)]):
        done = subprocess.run([*command, "tune", "--seed", "x"], capture_output=True, text=True)
        assert done.returncode == 2
        assert done.stderr.splitlines() == ["error: argument --seed: 'x' is not an integer"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hypermodel", "resnet"], "'resnet' is neither a built-in network (cnn, mlp)"),
        (["--set", "momentum=0.9"], "unknown hyperparameter 'momentum'"),
        (["--set", "batch_size=big"], "not int"),
        (["--set", "dropout=1.5"], "outside"),
        (["--set", "dropout"], "NAME=VALUE"),
        (["--set", "activation=elu"], "--set activation: only in the full search space"),
        (["--space", "full", "--set", "optimizer=adagrad"], "not one of adam, adamw, sgd, rmsprop"),
        (["--space", "full", "--set", "batch_norm=maybe"], "not one of on, off"),
        (["--space", "full", "--hypermodel", "mlp", "--set", "filters=32"], "only the cnn"),
        (["--space", "full", "--set=optimizer=sgd", "--set=weight_decay=1e-3"], "adamw"),
        (["--space", "huge"], "invalid choice"),
        (["--objective", "val_auc"], "the built-in networks log val_accuracy, val_loss,"),
        (["--max-trial", "3"], "unrecognized arguments: --max-trial 3"),  # no abbreviations
        (["--objective", "val_loss:lower"], "the direction after ':' is max or min"),
        (["--max-trials", "0"], "must be 1 or more"),
        (["--top-n", "-1"], "must be 1 or more"),
        (["--max-epochs", "many"], "not an integer"),
        (["--seed", "-3"], "between 0 and"),
        (["--train-limit", "58001"], "--train-limit must be between 1 and 58000"),
        (["--time-budget", "1h30"], "'1h30' is not a duration such as 45m, 2h, 1h30m or 3600"),
        (["--time-budget", "0"], "a duration must be above 0"),
    ],
)
def test_bad_input_is_one_error_line_and_leaves_results_alone(
    search_copy, data_dir, capsys, extra, message
):
    before = snapshot(search_copy)
    assert main([*tune_args(search_copy, data_dir, "--max-epochs", "2"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert snapshot(search_copy) == before


def test_data_dir_without_the_dataset_is_an_error(tmp_path, capsys):
    assert main(["tune", "--dataset", "mnist", "--data-dir", str(tmp_path)]) == 2
    assert "has no folder mnist/" in capsys.readouterr().err


@pytest.mark.parametrize("below", [False, True], ids=["itself", "a parent"])
def test_a_results_dir_that_is_a_file_is_an_error(tmp_path, data_dir, capsys, below):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "results" if below else blocker
    assert main(tune_args(target, data_dir)) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err == f"error: results dir {target}: {blocker} is a file, not a folder"
    assert blocker.read_text() == "not a folder"


def test_a_command_line_without_a_command_lists_them(capsys):
    assert main([]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err.startswith("error: give a command: tune, report, worker, bench, ablate, confirm")
    assert "run-trial" not in err


def test_set_with_a_space_gets_the_name_value_hint(tmp_path, data_dir, capsys):
    assert main([*tune_args(tmp_path, data_dir), "--set", "dropout", "0.3"]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err.endswith("(--set takes NAME=VALUE in one word: --set dropout=0.3)")


def test_a_pin_given_twice_is_an_error(tmp_path, data_dir, capsys):
    args = [*tune_args(tmp_path, data_dir), "--set", "dropout=0.3", "--set", "dropout=0.5"]
    assert main(args) == 2
    expected = "error: --set dropout given twice; give each name once"
    assert capsys.readouterr().err.strip() == expected
    assert not any(tmp_path.iterdir())


def test_report_on_a_folder_without_a_search_is_an_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no search" in capsys.readouterr().err


def test_published_results_without_their_state_say_what_is_missing(tmp_path, capsys):
    # A clone holds the reference searches' reports; git leaves out their tuner/ state.
    published = tmp_path / "mnist"
    shutil.copytree(REPO / "results" / "reference" / "mnist", published)
    before = snapshot(published)
    assert main(["report", str(published)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {published} holds a search's reports but not its tuner/ state")
    assert len(err.splitlines()) == 1
    assert snapshot(published) == before


@pytest.mark.parametrize("search", ["mnist", "fashion-mnist"])
def test_published_results_confirm_as_they_are(tmp_path, capsys, search):
    # Their best trial read back from test_results.csv is the one the search retrained: every
    # published confirm row is kept, none trained, and the files come out byte for byte.
    published = Path(shutil.copytree(REPO / "results" / "reference" / search, tmp_path / search))
    files = ("confirm.csv", "confirm_summary.csv")
    written = {name: (published / name).read_bytes() for name in files}
    assert main(["confirm", str(published)]) == 0
    out = capsys.readouterr().out
    assert out.count("kept from confirm.csv") == 3 and "training" not in out
    assert {name: (published / name).read_bytes() for name in files} == written


@pytest.mark.processes
def test_help_and_bad_input_answer_without_loading_tensorflow(tmp_path, data_dir):
    # A fresh interpreter: this one has long loaded TensorFlow for other tests.
    script = f"""
import sys
from tuning.cli.main import main
try:
    main(["--help"])
except SystemExit:
    pass
codes = [
    main(["tune", "--seed", "x"]),
    main(["tune", "--dataset", "mnist", "--data-dir", {str(tmp_path)!r}]),
    main(["tune", "--dataset", "mnist", "--data-dir", {str(data_dir)!r}, "--train-limit", "60000"]),
    *(main([command, {str(tmp_path)!r}]) for command in ("report", "ablate", "confirm")),
]
print(codes, sorted(m for m in ("tensorflow", "keras", "keras_tuner") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "[2, 2, 2, 2, 2, 2] []", done.stderr
    assert "--train-limit must be between 1 and 50000" in done.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "batch_size=256.5"], "not int"),
        (["--set", "learning_rate=1e-3*0"], "not float"),  # never evaluated as code
        (["--set", "../../x=1"], "unknown hyperparameter"),
        (["--dataset", "../mnist"], "--dataset ../mnist: not a built-in dataset"),
        (["--keep-checkpoints", "1"], "below --top-n 2"),
    ],
)
def test_bad_arguments_write_nothing(search_copy, data_dir, capsys, extra, message):
    before = snapshot(search_copy)
    assert main([*tune_args(search_copy, data_dir, "--max-trials", "3"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert snapshot(search_copy) == before
