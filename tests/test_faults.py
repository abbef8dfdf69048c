"""Faults: kills at any point, diverging and raising trials, a busy results dir, bad input."""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import (
    REPO,
    SMALL,
    assert_consistent,
    read_csv,
    snapshot,
    trial_files,
    trial_processes,
    tune_args,
)

from hypermodels.base import ImageClassifier
from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.data import load_dataset, split
from tuning.engine.search import make_tuner, run_search
from tuning.store import files
from tuning.store.lock import LOCK_FILE, results_lock

KILLER = REPO / "tests" / "killer.py"
# In one process: the kill points and injected faults are patched into this process.
FAST = [*SMALL, "--in-process"]


@pytest.mark.parametrize(
    ("point", "count"),
    [
        ("batch", 11),  # trial 1, epoch 2: mid-training
        ("checkpoint", 3),  # a weights file half-written
        ("oracle", 3),  # trial 0 saved as completed, oracle.json still lists it as running
        ("oracle", 5),  # trial 1 saved as running, oracle.json does not know it yet
        ("report", 1),  # every trial done, the final reports being written
    ],
)
def test_sigkill_at_any_point_resumes_without_loss(tmp_path, data_dir, capsys, point, count):
    args = [*tune_args(tmp_path, data_dir, "--max-trials", "3", "--max-epochs", "2"), *FAST]
    killed = subprocess.run(
        [sys.executable, str(KILLER), point, str(count), *args], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    finished = {
        i: t for i, t in trial_files(tmp_path).items() if t["state"]["status"] == "COMPLETED"
    }
    assert len(finished) < 3 or point == "report"

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "took over the lock of process" in out  # the killed run's lock, detected as stale
    assert_consistent(tmp_path, max_trials=3)
    after = trial_files(tmp_path)
    for trial_id, trial in finished.items():  # not trained again: state and record untouched
        assert after[trial_id]["bytes"] == trial["bytes"]


def test_diverging_trials_fail_with_a_reason_and_the_search_goes_on(tmp_path, data_dir, capsys):
    args = tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "3", *FAST)
    assert main([*args, "--set", "learning_rate=1e30"]) == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["FAILED", "FAILED"]  # the second ran after the first failed
    assert trials.reason.str.contains("loss became nan in epoch 1").all()
    assert trials.val_accuracy.isna().all() and (trials.epochs == 1).all()  # stopped at once
    assert read_csv(tmp_path / "test_results.csv").empty
    assert "trial 0 failed: loss became nan" in capsys.readouterr().out


@pytest.mark.parametrize("where", [FAST, SMALL], ids=["in-process", "process-per-trial"])
def test_consecutive_failures_stop_the_search_with_reports(tmp_path, data_dir, capsys, where):
    args = tune_args(tmp_path, data_dir, "--max-trials", "4", "--max-epochs", "1", *where)
    assert main([*args, "--set", "learning_rate=1e30", "--max-failures", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stopped after 2 consecutive failed trials" in err[0]
    assert list(read_csv(tmp_path / "trials.csv").status) == ["FAILED", "FAILED"]
    assert (tmp_path / "test_results.csv").exists()
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "stopped"


def test_a_trial_that_raises_fails_alone(tmp_path, data_dir, monkeypatch):
    real_fit = ImageClassifier.fit
    calls = []

    def fit_out_of_memory_once(self, hp, model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return real_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(ImageClassifier, "fit", fit_out_of_memory_once)
    args = tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "1", *FAST)
    assert main(args) == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["FAILED", "COMPLETED"]
    assert trials.reason[0] == "ResourceExhaustedError: OOM when allocating tensor"
    assert list(read_csv(tmp_path / "test_results.csv").trial_id) == ["1"]


def test_second_search_on_a_busy_results_dir_is_refused(search_copy, data_dir, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from tuning.store.lock import results_lock\n"
            "with results_lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n"
            "    time.sleep(120)",
            str(search_copy),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(search_copy)
        assert main(tune_args(search_copy, data_dir, "--max-trials", "3")) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"in use by process {holder.pid} on " in err[0]
        assert main(["report", str(search_copy)]) == 2
        assert snapshot(search_copy) == before
    finally:
        holder.kill()
        holder.wait()
    assert main(["report", str(search_copy)]) == 0  # the dead holder's lock is stale
    assert f"took over the lock of process {holder.pid}" in capsys.readouterr().out
    assert (search_copy / LOCK_FILE).read_text() == ""  # released on a clean exit


def test_lock_is_per_open_file_so_it_also_guards_this_process(search_copy):
    with results_lock(search_copy):
        with pytest.raises(Exception, match=f"in use by process {os.getpid()}"):
            with results_lock(search_copy):
                pass


def forge_idx(path: Path, array: np.ndarray) -> None:
    """Write `array` (uint8) as a gzip IDX file with a correct header."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def read_idx(path: Path, ndim: int) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw[4 + 4 * ndim :], dtype=np.uint8).reshape(shape)


TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"


def drop_last_image(folder: Path) -> None:
    forge_idx(folder / TRAIN_IMAGES, read_idx(folder / TRAIN_IMAGES, 3)[:-1])


def label_out_of_range(folder: Path) -> None:
    labels = read_idx(folder / TRAIN_LABELS, 1).copy()
    labels[123] = 10
    forge_idx(folder / TRAIN_LABELS, labels)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / TRAIN_IMAGES).unlink(), "missing data file"),
        (lambda d: (d / TRAIN_IMAGES).write_bytes(b"\x1f\x8b\x08\x00" * 9), "corrupt data file"),
        (lambda d: forge_idx(d / TRAIN_IMAGES, np.zeros((2, 28), np.uint8)), "magic"),
        (drop_last_image, "59999 train images but 60000 labels"),
        (label_out_of_range, "train label 10 outside 0..9"),
        (lambda d: (d / TRAIN_IMAGES).unlink() or (d / TRAIN_IMAGES).mkdir(), "Is a directory"),
    ],
    ids=["missing", "truncated", "wrong-magic", "count-mismatch", "label-range", "unreadable"],
)
def test_bad_data_is_one_line_and_leaves_results_alone(
    search_copy, data_dir, tmp_path, capsys, damage, message
):
    broken = tmp_path / "data"
    shutil.copytree(data_dir / "mnist", broken / "mnist")
    damage(broken / "mnist")
    before = snapshot(search_copy)
    assert main(tune_args(search_copy, broken, "--max-trials", "3")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert str(broken / "mnist") in err[0]  # names the file, or the folder it came from
    assert snapshot(search_copy) == before


def test_disk_full_while_writing_reports_keeps_the_old_ones(search_copy, monkeypatch, capsys):
    before = snapshot(search_copy)

    real_fsync = os.fsync

    def no_space_for_reports(fd):
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(".test_results.csv."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", no_space_for_reports)
    assert main(["report", str(search_copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0], err
    monkeypatch.undo()
    after = snapshot(search_copy)
    after.pop(LOCK_FILE), before.pop(LOCK_FILE, None)
    assert after == before  # no half-written report, no temp file left behind


def test_unreadable_run_json_is_one_line(search_copy, capsys):
    (search_copy / "run.json").unlink()
    (search_copy / "run.json").mkdir()
    assert main(["report", str(search_copy)]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "batch_size=256.5"], "not int"),
        (["--set", "learning_rate=1e-3*0"], "not float"),  # never evaluated as code
        (["--set", "../../x=1"], "unknown hyperparameter"),
        (["--dataset", "../mnist"], "invalid choice"),
        (["--keep-checkpoints", "1"], "below --top-n 2"),
    ],
)
def test_bad_arguments_write_nothing(search_copy, data_dir, capsys, extra, message):
    before = snapshot(search_copy)
    assert main([*tune_args(search_copy, data_dir, "--max-trials", "3"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert snapshot(search_copy) == before


def test_no_model_outlives_its_trial(tmp_path, data_dir, monkeypatch):
    models, kept = [], []
    real_build = ImageClassifier.build

    def build(self, hp):
        model = real_build(self, hp)
        models.append(weakref.ref(model))
        # Earlier trials' models must be gone by the time the next one is built.
        kept.append(sum(ref() is not None for ref in models[:-1]))
        return model

    monkeypatch.setattr(ImageClassifier, "build", build)
    config = TuneConfig(
        dataset="mnist",
        hypermodel="cnn",
        max_trials=6,
        max_epochs=1,
        train_limit=256,
        results_dir=tmp_path,
        data_dir=data_dir,
        pins={"batch_size": 64},
        precision="float32",
    ).resolve()
    run_search(make_tuner(config), config, split(load_dataset("mnist", data_dir), 256), verbose=0)
    assert len(kept) >= 6 and not any(kept), "models of earlier trials still alive"


def test_keep_checkpoints_deletes_weights_that_cannot_win(tmp_path, data_dir):
    args = tune_args(tmp_path, data_dir, "--max-trials", "3", "--max-epochs", "1", *FAST)
    assert main([*args, "--top-n", "1", "--keep-checkpoints", "1"]) == 0
    weights = sorted(p.parent.name for p in tmp_path.glob("tuner/trial_*/*.weights.h5"))
    best = read_csv(tmp_path / "test_results.csv").trial_id[0]
    assert weights == [f"trial_{best}"]


def test_config_file_sets_options_and_pins_and_the_command_line_wins(tmp_path, data_dir):
    config = tmp_path / "search.toml"
    config.write_text(
        'dataset = "mnist"\nhypermodel = "mlp"\nmax-trials = 2\nmax_epochs = 1\n'
        f'train-limit = 500\ntop-n = 1\ndata-dir = "{data_dir}"\nprecision = "float32"\n'
        "[set]\nbatch_size = 128\ndropout = 0.3\n"
    )
    results = tmp_path / "out"
    argv = ["tune", "--config", str(config), "--results-dir", str(results)]
    assert main([*argv, "--max-trials", "1", "--set", "dropout=0.1"]) == 0
    saved = json.loads((results / "run.json").read_text())["config"]
    assert saved["max_trials"] == 1 and saved["max_epochs"] == 1 and saved["hypermodel"] == "mlp"
    assert saved["pins"] == {"batch_size": 128, "dropout": 0.1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max-trials = 'ten'", "max-trials must be an integer, got 'ten'"),
        ("max_trials = 0", "max-trials: must be 1 or more"),
        ("overwrite = 1", "overwrite must be true or false"),
        ("hypermodel = 'resnet'", "hypermodel must be one of cnn, mlp"),
        ("momentum = 0.9", "unknown key 'momentum'"),
        ("[set]\nbatch_size = 'big'", "batch_size: 'big' is not int"),
        ("[set]\nmomentum = 0.9", "unknown hyperparameter 'momentum'"),
        ("set = 3", "set must be a table"),
        ("max-trials = ", "not valid TOML"),
        ("time-budget = 'soon'", "time-budget: 'soon' is not a duration such as 45m"),
        ("time-budget = true", "time-budget must be a duration (45m, 2h) or seconds"),
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


def read_or(path: Path, default: str) -> str:
    """The text of `path`, or `default` while it does not exist."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return default


@pytest.mark.parametrize("where", [FAST, SMALL], ids=["in-process", "process-per-trial"])
def test_sigterm_ends_with_a_resume_hint(tmp_path, data_dir, where):
    args = [*tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "50"), *where]
    search = subprocess.Popen(
        [sys.executable, "-m", "tuning", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    progress = tmp_path / "tuner" / "trial_0" / "progress.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not json.loads(read_or(progress, "{}")).get("epochs"):
        time.sleep(0.2)
    done = json.loads(progress.read_text())["epochs"]  # at least this many when it stops
    search.send_signal(signal.SIGTERM)
    _, err = search.communicate(timeout=60)
    assert search.returncode == 128 + signal.SIGTERM
    # One line that says what was kept and what was lost; run.json says so too.
    last = err.decode().strip().splitlines()[-1]
    story = re.fullmatch(
        r"interrupted: trial 0 stopped after epoch (\d+) and restarts from epoch 1 on resume; "
        r"0 finished trials saved; run the same command to resume",
        last,
    )
    assert story and int(story.group(1)) >= done >= 1, last
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "interrupted"
    assert (tmp_path / LOCK_FILE).read_text() == ""  # released, not left for takeover
    assert not trial_processes(tmp_path)  # no child left training


def test_config_file_pins_full_space_names(tmp_path, data_dir):
    config = tmp_path / "full.toml"
    config.write_text(
        'dataset = "mnist"\nspace = "full"\nhypermodel = "mlp"\nmax-trials = 1\nmax-epochs = 1\n'
        'train-limit = 300\ntop-n = 1\nprecision = "float32"\n'
        '[set]\nactivation = "elu"\nbatch_norm = true\noptimizer = "adamw"\nweight_decay = 1e-4\n'
    )
    results = tmp_path / "out"
    argv = ["tune", "--config", str(config), "--results-dir", str(results)]
    assert main([*argv, "--data-dir", str(data_dir)]) == 0
    trials = read_csv(results / "trials.csv")
    row = trials.iloc[0]
    assert (row.activation, row.optimizer, row.weight_decay) == ("elu", "adamw", 1e-4)
    assert str(row.batch_norm) == "True"
