"""`tune --model` and `tune --hypermodel FILE.py:NAME`: a user's code searched end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tuning.cli.main import main
from tuning.retrain.best import best_configuration

from helpers import read_csv, snapshot, tune_args

MODELS = '''
import keras


def plain(input_shape, num_classes):
    """A functional model with batch normalization; its last Dense has no softmax."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(32)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def build(hp):
    """Its own names, its own compile, a sparse loss."""
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Flatten(),
        keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    rate = hp.Float("lr", 1e-3, 1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_auc(hp):
    """Ranked by a metric of its own: AUC, whose name says higher is better."""
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Flatten(),
        keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(
        optimizer="adam",
        loss="categorical_crossentropy",
        metrics=[keras.metrics.AUC(name="auc")],
    )
    return model


def not_a_classifier(input_shape, num_classes):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten()])
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("code") / "models.py"
    path.write_text(MODELS)
    return path


def own_args(results: Path, data_dir: Path, *extra: str) -> list[str]:
    return tune_args(results, data_dir, "--max-epochs", "1", "--top-n", "1", *extra)


def test_a_plain_model_is_searched_over_the_card_and_resumed(models, data_dir, tmp_path):
    results = tmp_path / "out"
    args = own_args(results, data_dir, "--model", f"{models}:plain")
    assert main([*args, "--max-trials", "1"]) == 0
    first = (results / "tuner" / "trial_0" / "trial.json").read_bytes()
    assert main([*args, "--max-trials", "2"]) == 0
    trials = read_csv(results / "trials.csv")
    assert list(trials.trial_id) == ["0", "1"] and set(trials.status) == {"COMPLETED"}
    assert {"augment_factor", "dropout", "l1", "l2", "learning_rate", "batch_size"} <= set(
        trials.columns
    )
    # The warm start is the course's values on its dataset, for a user's model too.
    assert trials.learning_rate.iloc[0] == 0.00168
    assert (results / "tuner" / "trial_0" / "trial.json").read_bytes() == first
    run = json.loads((results / "run.json").read_text())
    assert run["config"]["model"] == f"{models}:plain"
    assert run["experiment"]["code"]["file"] == str(models)
    assert len(read_csv(results / "test_results.csv")) == 1


@pytest.fixture(scope="module")
def own_names_search(models, data_dir, tmp_path_factory) -> Path:
    """A search of the HyperModel `build`, units pinned, resumed from 1 trial to 2."""
    results = tmp_path_factory.mktemp("own-names") / "out"
    args = own_args(results, data_dir, "--hypermodel", f"{models}:build", "--set", "units=32")
    assert main([*args, "--max-trials", "1"]) == 0
    assert main([*args, "--max-trials", "2"]) == 0
    return results


def test_a_hypermodel_is_searched_over_its_own_names_with_its_own_loss(own_names_search):
    results = own_names_search
    trials = read_csv(results / "trials.csv")
    assert list(trials.columns[:5]) == ["trial_id", "status", "val_accuracy", "units", "lr"]
    assert set(trials.units) == {32} and set(trials.status) == {"COMPLETED"}
    tested = read_csv(results / "test_results.csv")
    assert 0.5 < tested.test_accuracy.iloc[0] <= 1.0  # its sparse labels reached its loss
    page = (results / "report.html").read_text()
    assert "units" in page and "augment_factor" not in page


def test_a_hypermodel_is_ranked_by_the_metric_it_compiles(models, data_dir, tmp_path):
    results = tmp_path / "out"
    args = own_args(results, data_dir, "--hypermodel", f"{models}:build_auc")
    assert main([*args, "--objective", "val_auc", "--max-trials", "2"]) == 0
    run = json.loads((results / "run.json").read_text())
    assert (run["experiment"]["objective"], run["experiment"]["direction"]) == ("val_auc", "max")
    trials = read_csv(results / "trials.csv")
    assert list(trials.columns[:4]) == ["trial_id", "status", "val_auc", "units"]
    assert trials.val_auc.between(0.5, 1).all()
    tested = read_csv(results / "test_results.csv")
    assert list(tested.val_auc) == sorted(trials.val_auc, reverse=True)[:1]  # --top-n 1
    assert tested.test_accuracy.isna().all()  # it compiles no accuracy: none is made up
    assert "val_auc" in read_csv(results / "history.csv").columns
    assert f"Trial {tested.trial_id.iloc[0]}: val_auc" in ((results / "report.html").read_text())


def test_a_changed_model_file_is_not_resumed(models, data_dir, tmp_path, capsys):
    code = tmp_path / "mine.py"
    code.write_text(MODELS)
    results = tmp_path / "out"
    args = own_args(results, data_dir, "--model", f"{code}:plain")
    assert main([*args, "--max-trials", "1"]) == 0
    capsys.readouterr()
    code.write_text(MODELS + "\n# changed\n")
    before = snapshot(results)
    assert main([*args, "--max-trials", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was searched with another version of" in err[0], err
    assert snapshot(results) == before


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--model", "{m}:plain", "--space", "full"], "--space full is for the built-in"),
        (["--model", "{m}:plain", "--hypermodel", "{m}:build"], "name two networks"),
        (["--hypermodel", "{m}:build", "--space", "full"], "searches its own names"),
        (["--model", "{m}:not_a_classifier"], "last layer is a Dense of 10 units"),
        (["--model", "{m}:nowhere"], "defines no nowhere"),
        (["--model", "nowhere.py:plain"], "no file nowhere.py"),
        (["--hypermodel", "{m}:build", "--set", "depth=3"], "declares no 'depth'"),
        (["--hypermodel", "{m}:build", "--set", "units=1000"], "outside Int from 16 to 64"),
        (["--hypermodel", "resnet"], "neither a built-in network"),
        (["--hypermodel", "{m}:build", "--objective", "val_f2"], "give val_f2:max or val_f2:min"),
    ],
)
def test_bad_user_code_is_one_line_and_writes_nothing(
    models, data_dir, tmp_path, capsys, extra, said
):
    results = tmp_path / "out"
    extra = [word.format(m=models) for word in extra]
    assert main(own_args(results, data_dir, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and said in err[0], err
    assert not (results / "trials.csv").exists()


def test_ablate_says_when_a_hypermodel_has_nothing_to_switch_off(own_names_search, capsys):
    # A finished search of a HyperModel that declares none of the techniques. Ablate refuses
    # before it trains or writes a report: the search stays as the test above reads it.
    capsys.readouterr()
    assert main(["ablate", str(own_names_search)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "so ablate has nothing to switch off" in err[0], err


def test_a_hypermodels_reports_alone_give_its_best_trial(own_names_search, tmp_path, capsys):
    # Without tuner/, the HyperModel is built once more to type test_results.csv's values.
    copy = Path(shutil.copytree(own_names_search, tmp_path / "out"))
    with best_configuration(copy) as best:
        from_state = best.trial_id, best.names, dict(best.hp.values)
    shutil.rmtree(copy / "tuner")
    with best_configuration(copy) as best:
        trial_id, names, values = best.trial_id, best.names, dict(best.hp.values)
    assert "has no tuner/ state" in capsys.readouterr().out
    assert (trial_id, names) == from_state[:2] == (trial_id, ["units", "lr"])
    assert values == pytest.approx(from_state[2], rel=1e-9) and values["units"] == 32
    assert type(values["units"]) is int
