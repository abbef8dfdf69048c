"""Tiny real searches under KERAS_BACKEND=jax, each in a process of its own (the backend is
chosen once per process), on the TensorFlow-backed test session's machine."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tuning.cli.main import main

from helpers import (
    JAX,
    REPO,
    SMALL,
    assert_asha_replays,
    assert_consistent,
    assert_median_replays,
    trial_files,
    tune_args,
)

pytestmark = pytest.mark.processes  # tests about processes, starting their own

# Runs tuning's command line in-process, then says whether TensorFlow got imported.
DRIVER = (
    "import json, sys\n"
    "from tuning.cli.main import main\n"
    "status = main(sys.argv[1:])\n"
    "print(json.dumps({'status': status, 'tensorflow': 'tensorflow' in sys.modules}))\n"
)
# Validated on the last 2,000 training images, not the course's 10,000: for the cnn these
# would cost more than its training on 500.
TINY = ["--train-limit", "500", "--val-size", "2000", "--max-epochs", "1", "--top-n", "1"]
TINY += ["--quiet"]


def under_jax(
    args: list, tmp_path, without_tensorflow: bool = False, env: dict | None = None
) -> dict:
    """Run `python -m tuning ARGS` in-process in a fresh JAX process; its status and imports.

    `without_tensorflow`: TensorFlow cannot be imported there, nor in the trial processes it
    starts, as on a machine where it is not installed.
    """
    env = {**JAX, **(env or {})}
    if without_tensorflow:
        shadow = tmp_path / "no-tensorflow"
        (shadow / "tensorflow").mkdir(parents=True, exist_ok=True)
        (shadow / "tensorflow" / "__init__.py").write_text(
            "raise ImportError('TensorFlow is not installed here (tests/test_backend.py)')\n"
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shadow), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "stderr": done.stderr}


def tune(results, data_dir) -> list:
    return [
        "tune",
        "--dataset",
        "mnist",
        "--results-dir",
        str(results),
        "--data-dir",
        str(data_dir),
        *TINY,
    ]


def trials(results) -> pd.DataFrame:
    return pd.read_csv(results / "trials.csv", dtype={"trial_id": str})


def values(results, trial_id: str) -> dict:
    state = json.loads((results / "tuner" / f"trial_{trial_id}" / "trial.json").read_text())
    return state["hyperparameters"]["values"]


def test_a_cnn_search_under_jax_imports_no_tensorflow(tmp_path, data_dir):
    results = tmp_path / "cnn"
    args = [*tune(results, data_dir), "--max-trials", "1", "--in-process"]
    ran = under_jax(args, tmp_path)
    assert ran["status"] == 0 and ran["tensorflow"] is False
    row = trials(results).iloc[0]
    assert row.status == "COMPLETED" and row.val_accuracy > 0.2  # chance is 0.1
    run = json.loads((results / "run.json").read_text())
    assert row.precision == run["training"]["precision"]
    if not run["machine"]["gpus"]:  # auto on a CPU under JAX: bfloat16 is no faster there
        assert row.precision == "float32"
    assert run["training"]["jit_compile"] is True and run["training"]["backend"] == "jax"
    assert run["packages"]["jax"]


def test_a_trial_with_other_values_of_the_same_shapes_compiles_nothing(tmp_path, data_dir):
    # The course's values (dropout 0.5, no L1/L2), then other dropout, L1, L2 and learning
    # rate at the same batch size: under JAX these are inputs of the compiled step, not
    # constants, so the second search finds every program in the persistent cache.
    cache = {"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "cache")}
    other = ["dropout=0.3", "l1=0.0001", "l2=0.001", "learning_rate=0.0005"]
    entries = []
    for name, pins in (("first", []), ("second", other)):
        args = [*tune(tmp_path / name, data_dir), "--hypermodel", "mlp", "--max-trials", "1"]
        args += [item for pin in pins for item in ("--set", pin)]
        assert under_jax([*args, "--in-process"], tmp_path, env=cache)["status"] == 0
        entries.append(sorted(p.name for p in (tmp_path / "cache").iterdir()))
    assert entries[0] and entries[1] == entries[0]
    second = values(tmp_path / "second", "0")
    assert (second["dropout"], second["l2"]) == (0.3, 0.001)  # it did train other values
    # The best model is Keras's own layers: no trace of the variables it searched with.
    model = (tmp_path / "second" / "best_model.keras").read_bytes()
    assert b"SearchedDropout" not in model and b"searched_values" not in model


@pytest.fixture(scope="module")
def jax_full_search(tmp_path_factory, data_dir):
    """A 2-trial mlp search of the full space under JAX, resumed after its first trial.

    Trials in their own processes, none of which can import TensorFlow.
    """
    folder = tmp_path_factory.mktemp("jax")
    results = folder / "mlp-full"
    args = [*tune(results, data_dir), "--hypermodel", "mlp", "--space", "full"]
    assert under_jax([*args, "--max-trials", "1"], folder, without_tensorflow=True)["status"] == 0
    first = trials(results)
    assert under_jax([*args, "--max-trials", "2"], folder, without_tensorflow=True)["status"] == 0
    return results, first


def test_a_full_search_resumes_and_reports_without_tensorflow(jax_full_search, tmp_path):
    results, first = jax_full_search
    table = trials(results)
    assert list(table.status) == ["COMPLETED", "COMPLETED"]
    # The resume kept trial 0 as it was (a column of zeros reads back as ints, then floats).
    pd.testing.assert_frame_equal(table.iloc[:1], first, check_dtype=False)
    report = under_jax(["report", results], tmp_path)
    assert report["status"] == 0 and report["tensorflow"] is False
    assert (results / "report.html").is_file()


def test_a_trial_draws_the_same_values_under_either_backend(jax_full_search, tmp_path, data_dir):
    results, _ = jax_full_search
    same = tmp_path / "tf"  # this test session's backend: TensorFlow
    args = [*tune(same, data_dir), "--hypermodel", "mlp", "--space", "full"]
    assert main([*args, "--max-trials", "2", "--in-process"]) == 0
    for trial_id in ("0", "1"):
        assert values(same, trial_id) == values(results, trial_id)
    assert values(results, "1") != values(results, "0")


@pytest.mark.parametrize(
    "option, why",
    [
        (["--distribution", "mirrored"], "--distribution mirrored is TensorFlow's tf.distribute"),
        (["--tensorboard"], "--tensorboard logs through TensorFlow's tf.summary"),
    ],
)
def test_tensorflow_only_options_are_refused_under_jax(tmp_path, option, why):
    args = ["tune", "--dataset", "mnist", "--results-dir", tmp_path / "x", *option]
    done = subprocess.run(
        [sys.executable, "-m", "tuning", *map(str, args)],
        env=JAX,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {why}") and "KERAS_BACKEND=jax" in done.stderr
    assert not (tmp_path / "x").exists()


def test_the_fused_transform_matches_the_three_layers_under_jax_too():
    # tests/test_augment.py again, in a process whose Keras runs on JAX's affine_transform.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",  # one small file: no workers to start
            "tests/hypermodels/test_augment.py",
        ],
        env=JAX,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_a_search_killed_mid_trial_under_jax_resumes_without_loss(tmp_path, data_dir):
    # Two trials: the kill lands in the second, which the resume finishes.
    args = [*tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "2"), *SMALL]
    killer = [sys.executable, str(REPO / "tests" / "support" / "killer.py"), "batch", "11", *args]
    killed = subprocess.run(killer, env=JAX, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]  # trial 1, epoch 1
    finished = {i: t for i, t in trial_files(tmp_path).items() if t["state"]["status"] != "RUNNING"}
    assert list(finished) == ["0"]
    assert under_jax(args, tmp_path)["status"] == 0
    assert_consistent(tmp_path, max_trials=2)
    assert trial_files(tmp_path)["0"]["bytes"] == finished["0"]["bytes"]  # not trained again


def test_asha_decides_under_jax_as_its_rule_says(tmp_path, data_dir):
    args = [*SMALL, "--max-trials", "5", "--max-epochs", "3", "--initial-points", "5"]
    args += ["--early-trial-stop", "asha", "--rung-epochs", "1", "--eta", "2", "--quiet"]
    args += ["--top-n", "1"]  # the replay reads trials.csv and history.csv alone
    assert under_jax(tune_args(tmp_path, data_dir, *args), tmp_path)["status"] == 0
    assert_asha_replays(tmp_path, rung_epochs=1, eta=2, max_epochs=3)


def test_the_median_rule_decides_under_jax_as_it_says(tmp_path, data_dir):
    args = [*SMALL, "--max-trials", "6", "--max-epochs", "4", "--initial-points", "6"]
    args += ["--early-trial-stop", "median", "--grace-epochs", "1", "--quiet"]
    args += ["--top-n", "1"]  # the replay reads trials.csv and history.csv alone
    assert under_jax(tune_args(tmp_path, data_dir, *args), tmp_path)["status"] == 0
    assert_median_replays(tmp_path, grace_epochs=1, max_epochs=4)


def test_tensorflow_loads_without_jax_which_imports_as_ever_afterwards():
    # This session imported TensorFlow as every process of a search does
    # (tuning.import_backend_quietly, in conftest.py), with JAX installed for the tests above:
    # TFLite's hook for JAX functions stayed unset, so TensorFlow did not load JAX.
    from tensorflow.lite.python import util

    assert util._jit is None
    import jax

    assert float(jax.numpy.ones(3).sum()) == 3.0
