"""best_model.keras: the best trial's model, loadable by Keras alone, with its class names."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

from tuning.cli.main import main
from tuning.data import as_images, one_hot
from tuning.engine.evaluate import best_trials
from tuning.engine.search import make_tuner
from tuning.layout import BEST_MODEL
from tuning.reports.best_model import class_names, write_best_model
from tuning.reports.page import write_page
from tuning.store.files import read_json
from tuning.store.prepared import read_prepared
from tuning.store.resume import saved_config

from helpers import SMALL, read_csv, tune_args

# Run in a fresh process: Keras alone loads the file without a warning and predicts, with no
# custom objects; neither this project nor its networks may have been imported for it.
LOAD_AND_PREDICT = """
import sys
import warnings
import keras
import numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model = keras.saving.load_model(sys.argv[1])
assert not caught, [str(w.message) for w in caught]
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
assert not {m.split(".")[0] for m in sys.modules} & {"tuning", "hypermodels"}
print(model.compiled, type(model.optimizer).__name__)
"""


def saved_tuner(results: Path):
    """The tuner of the finished search in `results`, reloaded."""
    return make_tuner(saved_config(results, read_json(results / "run.json")))


def test_search_writes_the_best_model_with_its_class_names(tiny_search):
    path = tiny_search / BEST_MODEL
    assert path.is_file()
    assert class_names(path) == [str(digit) for digit in range(10)]
    assert not list(tiny_search.glob(".best_model.*"))  # no temporary file left


def test_a_fresh_process_loads_it_with_keras_alone_and_predicts_the_same(tiny_search, tmp_path):
    tuner = saved_tuner(tiny_search)
    best = best_trials(tuner, 1)[0]
    assert best.trial_id == read_csv(tiny_search / "test_results.csv").trial_id[0]
    images = as_images(np.asarray(read_prepared(tiny_search).x_test[:16]))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        expected = tuner.load_model(best).predict(images, verbose=0)
    np.save(tmp_path / "images.npy", images)
    done = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, str(tiny_search / BEST_MODEL)]
        + [str(tmp_path / "images.npy"), str(tmp_path / "predicted.npy")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "Adam"]
    predicted = np.load(tmp_path / "predicted.npy")
    assert predicted.shape == (16, 10)
    np.testing.assert_array_equal(predicted, expected)


def test_the_model_is_compiled_and_scores_as_test_results_say(tiny_search):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to skip: the optimizer's state is all there
        model = keras.saving.load_model(tiny_search / BEST_MODEL)
    assert model.compiled and isinstance(model.optimizer, keras.optimizers.Adam)
    best = read_csv(tiny_search / "test_results.csv").iloc[0]
    # Adam's state at the best epoch: its steps taken, its rate (ReduceLROnPlateau may cut it).
    assert int(model.optimizer.iterations) > 0
    assert 0 < float(model.optimizer.learning_rate) <= best.learning_rate * (1 + 1e-6)
    data = read_prepared(tiny_search)
    x, y = as_images(np.asarray(data.x_test)), one_hot(np.asarray(data.y_test), 10)
    loss, accuracy = model.evaluate(x, y, batch_size=512, verbose=0)
    assert accuracy == pytest.approx(best.test_accuracy, abs=1e-6)
    assert loss == pytest.approx(best.test_loss, rel=1e-4)
    keras.backend.clear_session()


def test_report_rewrites_it_and_the_page_says_how_to_load_it(search_copy, capsys):
    path = search_copy / BEST_MODEL
    path.unlink()
    assert BEST_MODEL not in write_page(search_copy).read_text()  # no file, no word of it
    assert main(["report", str(search_copy)]) == 0
    assert path.is_file() and class_names(path) == [str(digit) for digit in range(10)]
    assert f"wrote {path}" in capsys.readouterr().out
    text = (search_copy / "report.html").read_text()
    assert "import keras\nmodel = keras.saving.load_model(&quot;best_model.keras&quot;)" in text
    assert "experiment.class_names" in text and "class_names.json" in text


def test_a_best_trial_without_checkpoint_writes_none_and_keeps_the_file(search_copy):
    tuner = saved_tuner(search_copy)
    before = (search_copy / BEST_MODEL).read_bytes()
    tuner.checkpoint_path(best_trials(tuner, 1)[0].trial_id).unlink()
    assert write_best_model(tuner, search_copy) is None
    assert (search_copy / BEST_MODEL).read_bytes() == before  # the same trial's, written before


def test_a_search_where_no_trial_finished_writes_none(tmp_path, data_dir):
    (tmp_path / BEST_MODEL).write_bytes(b"an earlier search's model")
    args = tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "1", *SMALL)
    assert main([*args, "--set", "learning_rate=1e30", "--max-failures", "5"]) == 0
    assert list(read_csv(tmp_path / "trials.csv").status) == ["FAILED", "FAILED"]
    assert not (tmp_path / BEST_MODEL).exists()  # gone: it was not this search's
    assert not list(tmp_path.glob(".best_model.*"))
    assert BEST_MODEL not in (tmp_path / "report.html").read_text()


def test_the_page_names_the_import_a_full_space_model_may_need(search_copy):
    assert "hypermodels.choices" not in (search_copy / "report.html").read_text()  # card space
    run = read_json(search_copy / "run.json")
    run["config"]["space"] = "full"
    (search_copy / "run.json").write_text(json.dumps(run))
    assert "<code>import hypermodels.choices</code>" in write_page(search_copy).read_text()
