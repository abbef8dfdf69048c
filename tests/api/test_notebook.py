"""tuning.tune: a search from Python with arrays and a model object, its results read back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

import tuning
from tuning.api.notebook import checked_options
from tuning.errors import TuningError


def tiny(input_shape, num_classes):
    """Defined in the test module: importable by its name, so trials may run in processes."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))


@pytest.fixture(scope="module")
def digits():
    bunch = load_digits()
    x = (bunch.images * (255 / 16)).round().astype(np.uint8)
    return x[:1500], bunch.target[:1500], x[1500:], bunch.target[1500:]


OPTIONS = {"max_epochs": 1, "val_size": 300, "top_n": 1, "precision": "float32", "quiet": True}


def test_arrays_and_a_model_object_give_tables_and_the_best_model(digits, tmp_path, capsys):
    def cell(input_shape, num_classes):  # as in a notebook cell: no other process has it
        return tiny(input_shape, num_classes)

    results = tmp_path / "out"
    result = tuning.tune(digits, model=cell, results_dir=results, max_trials=1, **OPTIONS)
    assert "its trials run in this process" in capsys.readouterr().out
    assert list(result.trials.trial_id) == ["0"]
    assert len(result.test_results) == 1
    model = result.best_model()
    assert model.class_names == [str(i) for i in range(10)]
    x_test = digits[2][:5]
    expected = model.predict(x_test, verbose=0)
    # One fresh process, as a user's next session: it loads the file with Keras alone (no
    # custom objects, nothing of this package imported) and predicts the same; then `report`
    # there, which cannot build the notebook's model, reads the files. (One process, not
    # two: each costs a TensorFlow start-up.)
    saved, inputs, outputs = results / "best_model.keras", tmp_path / "x.npy", tmp_path / "p.npy"
    np.save(inputs, x_test)
    script = (
        "import sys, numpy as np, keras\n"
        f"model = keras.saving.load_model({str(saved)!r})\n"
        f"np.save({str(outputs)!r}, model.predict(np.load({str(inputs)!r}), verbose=0))\n"
        "assert 'tuning' not in sys.modules\n"
        "from tuning.cli.main import main\n"
        f"sys.exit(main(['report', {str(results)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(outputs), expected, rtol=1e-5, atol=1e-6)
    assert "best trial" in done.stdout and "best_model.keras" not in done.stdout

    # The same call with a larger budget resumes: the arrays are not written again.
    written = (results / "arrays.npz").stat().st_mtime_ns
    result = tuning.tune(digits, model=cell, results_dir=results, max_trials=2, **OPTIONS)
    assert list(result.trials.trial_id) == ["0", "1"]
    assert len(result.test_results) == 1  # top_n 1 of the 2
    assert (results / "arrays.npz").stat().st_mtime_ns == written


def test_a_dict_with_validation_and_an_importable_model_run_trials_in_processes(digits, tmp_path):
    x_train, y_train, x_test, y_test = digits
    data = {
        "x_train": x_train[:1200],
        "y_train": y_train[:1200],
        "x_val": x_train[1200:],
        "y_val": y_train[1200:],
        "x_test": x_test,
        "y_test": y_test,
    }
    options = {**OPTIONS, "val_size": None}
    result = tuning.tune(data, model=tiny, results_dir=tmp_path / "out", max_trials=1, **options)
    assert result.trials.status.tolist() == ["COMPLETED"]
    run = (tmp_path / "out" / "run.json").read_text()
    assert '"in_process": false' in run and "test_notebook:tiny" in run


def test_bad_input_raises_the_command_line_s_one_line(digits, tmp_path):
    with pytest.raises(TuningError, match="unknown options: max_trial"):
        tuning.tune(digits, max_trial=3)
    with pytest.raises(TuningError, match="a sequence of 3"):
        tuning.tune(digits[:3], results_dir=tmp_path / "out")
    with pytest.raises(TuningError, match="or a dict of arrays; got int"):
        tuning.tune(5, results_dir=tmp_path / "out")
    with pytest.raises(Exception, match="--set dropout: 2.0 is outside"):
        tuning.tune(digits, pins={"dropout": 2.0}, results_dir=tmp_path / "out", **OPTIONS)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seed": -3}, "tune() option seed: must be between 0 and 2147483647, got -3"),
        ({"max_trials": 2.0}, "tune() option max_trials must be an integer, got 2.0"),
        ({"time_budget": "soon"}, "tune() option time_budget: 'soon' is not a duration"),
        ({"results_dir": 3}, "tune() option results_dir must be a path, got 3"),
        ({"precision": "bf16"}, "tune() option precision must be one of auto, float32"),
        ({"image_size": (64,)}, "tune() option image_size must be a size"),
        ({"fidelity_gp": "no"}, "tune() option fidelity_gp must be True or False"),
    ],
)
def test_a_bad_option_value_is_refused_before_anything_is_written(
    digits, tmp_path, options, message
):
    out = tmp_path / "out"
    with pytest.raises(TuningError) as refused:
        tuning.tune(digits, **{"results_dir": out, **options})
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert not out.exists()


def test_options_take_python_values_as_the_command_line_takes_text():
    given = {
        "seed": np.int64(5),
        "time_budget": 90,
        "save_every": "5m",
        "image_size": (64, 48),
        "results_dir": "out",
        "overwrite": True,
        "objective": "val_loss",
        "val_size": None,  # unset, as by default
    }
    assert checked_options(given) == {
        "seed": 5,
        "time_budget": 90.0,
        "save_every": 300.0,
        "image_size": [64, 48],
        "results_dir": Path("out"),
        "overwrite": True,
        "objective": "val_loss",
        "val_size": None,
    }
