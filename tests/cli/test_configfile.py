"""`--config`: a TOML file of options and pins, the command line winning, bad keys named."""

from __future__ import annotations

import json

import pytest

from tuning.cli.configfile import read_config
from tuning.cli.main import main

from helpers import (
    read_csv,
    snapshot,
    tune_args,
)


def test_config_file_sets_options_and_pins_and_the_command_line_wins(tmp_path, data_dir):
    config = tmp_path / "search.toml"
    config.write_text(
        'dataset = "mnist"\nhypermodel = "mlp"\nmax-trials = 2\nmax_epochs = 1\n'
        f'train-limit = 500\ntop-n = 1\ndata-dir = "{data_dir}"\nprecision = "float32"\n'
        "val-size = 2000\nin-process = true\n"  # the file's switches and sizes read too
        "[set]\nbatch_size = 128\ndropout = 0.3\n"
    )
    results = tmp_path / "out"
    argv = ["tune", "--config", str(config), "--results-dir", str(results)]
    assert main([*argv, "--max-trials", "1", "--set", "dropout=0.1"]) == 0
    saved = json.loads((results / "run.json").read_text())["config"]
    assert saved["max_trials"] == 1 and saved["max_epochs"] == 1 and saved["hypermodel"] == "mlp"
    assert saved["pins"] == {"batch_size": 128, "dropout": 0.1}
    assert saved["val_size"] == 2000 and saved["in_process"] is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max-trials = 'ten'", "max-trials must be an integer, got 'ten'"),
        ("max_trials = 0", "max-trials: must be 1 or more"),
        ("overwrite = 1", "overwrite must be true or false"),
        ("hypermodel = 'resnet'", "hypermodel: 'resnet' is neither a built-in network"),
        ("momentum = 0.9", "unknown key 'momentum'"),
        ("[set]\nbatch_size = 'big'", "batch_size: 'big' is not int"),
        ("[set]\nmomentum = 0.9", "unknown hyperparameter 'momentum'"),
        ("set = 3", "set must be a table"),
        ("max-trials = ", "not valid TOML"),
        ("time-budget = 'soon'", "time-budget: 'soon' is not a duration such as 45m"),
        ("time-budget = true", "time-budget must be a duration (45m, 2h) or seconds"),
        ("max-trials = 2.0", "max-trials must be an integer, got 2.0"),
        ("image-size = [64, 'a']", 'image-size must be a size (32, "64x48" or [64, 48])'),
    ],
)
def test_bad_config_file_names_the_key(search_copy, data_dir, tmp_path, capsys, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text + "\n")
    before = snapshot(search_copy)
    args = [*tune_args(search_copy, data_dir, "--max-trials", "3"), "--config", str(config)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert snapshot(search_copy) == before


def test_config_file_values_read_as_the_command_line_reads_them(tmp_path):
    config = tmp_path / "values.toml"
    config.write_text(
        'objective = "val_loss"\nsave-every = "5m"\nworker-timeout = 90\n'
        "image-size = [64, 48]\ntime-budget = 2.5\nseed = 0\n"
    )
    assert read_config(config) == (
        {
            "objective": "val_loss",
            "save_every": 300.0,
            "worker_timeout": 90.0,
            "image_size": [64, 48],
            "time_budget": 2.5,
            "seed": 0,
        },
        {},
    )


def test_config_file_pins_full_space_names(tmp_path, data_dir):
    config = tmp_path / "full.toml"
    config.write_text(
        'dataset = "mnist"\nspace = "full"\nhypermodel = "mlp"\nmax-trials = 1\nmax-epochs = 1\n'
        'train-limit = 300\ntop-n = 1\nprecision = "float32"\nval-size = 2000\nin-process = true\n'
        '[set]\nactivation = "elu"\nbatch_norm = true\noptimizer = "adamw"\nweight_decay = 1e-4\n'
    )
    results = tmp_path / "out"
    argv = ["tune", "--config", str(config), "--results-dir", str(results)]
    assert main([*argv, "--data-dir", str(data_dir)]) == 0
    trials = read_csv(results / "trials.csv")
    row = trials.iloc[0]
    assert (row.activation, row.optimizer, row.weight_decay) == ("elu", "adamw", 1e-4)
    assert str(row.batch_norm) == "True"
