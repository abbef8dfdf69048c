"""hypermodels.space and the HyperModels built from it."""

from __future__ import annotations

import math
import re

import keras
import keras_tuner as kt
import numpy as np
import pytest

import hypermodels
from hypermodels.space import NAMES, PinError, parse_pin, parse_pins, search_space

AUGMENTATION_LAYERS = (
    keras.layers.RandomRotation,
    keras.layers.RandomTranslation,
    keras.layers.RandomZoom,
)


def by_name(hp: kt.HyperParameters) -> dict:
    return {h.name: h for h in hp.space}


# --- the declared space -------------------------------------------------------------------------


def test_names():
    assert NAMES == ("augment_factor", "dropout", "l1", "l2", "learning_rate", "batch_size")


def test_search_space_declares_every_name_once():
    assert [h.name for h in search_space().space] == list(NAMES)


def test_augment_factor_range():
    h = by_name(search_space())["augment_factor"]
    assert isinstance(h, kt.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.sampling) == (0.01, 0.3, "log")


def test_dropout_range():
    h = by_name(search_space())["dropout"]
    assert isinstance(h, kt.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.step) == (0.0, 0.5, 0.1)


@pytest.mark.parametrize("name", ["l1", "l2"])
def test_regularizer_choices(name):
    h = by_name(search_space())[name]
    assert isinstance(h, kt.engine.hyperparameters.Choice)
    assert list(h.values) == [0, 1e-6, 1e-5, 1e-4, 1e-3]


def test_learning_rate_range():
    h = by_name(search_space())["learning_rate"]
    assert isinstance(h, kt.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.sampling) == (1e-4, 1e-2, "log")


def test_batch_size_choices():
    h = by_name(search_space())["batch_size"]
    assert isinstance(h, kt.engine.hyperparameters.Choice)
    assert list(h.values) == [32, 64, 128, 256, 512]
    assert all(isinstance(v, int) for v in h.values)


def test_pinned_name_becomes_fixed():
    free, pinned = by_name(search_space()), by_name(search_space({"dropout": 0.5}))

    assert isinstance(pinned["dropout"], kt.engine.hyperparameters.Fixed)
    assert pinned["dropout"].value == 0.5
    assert search_space({"dropout": 0.5}).get("dropout") == 0.5
    for name in NAMES:
        if name != "dropout":
            assert type(pinned[name]) is type(free[name])
            assert pinned[name].get_config() == free[name].get_config()


def test_pins_outside_searched_range_are_kept():
    hp = search_space({"augment_factor": 0.0, "batch_size": 100, "learning_rate": 10.0})
    assert hp.values["augment_factor"] == 0.0
    assert hp.values["batch_size"] == 100
    assert hp.values["learning_rate"] == 10.0


def test_search_space_rejects_unknown_name():
    with pytest.raises(PinError, match="momentum"):
        search_space({"dropout": 0.1, "momentum": 0.9})


def test_search_space_leaves_pins_argument_alone():
    pins = {"dropout": 0.2}
    search_space(pins)
    assert pins == {"dropout": 0.2}


# --- parse_pin ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "value", "kind"),
    [
        ("augment_factor=0", "augment_factor", 0.0, float),
        ("augment_factor=0.5", "augment_factor", 0.5, float),
        ("dropout=0", "dropout", 0.0, float),
        ("dropout=0.99", "dropout", 0.99, float),
        ("l1=0", "l1", 0.0, float),
        ("l2=1e-3", "l2", 1e-3, float),
        ("learning_rate=10", "learning_rate", 10.0, float),
        ("learning_rate=1e-9", "learning_rate", 1e-9, float),
        ("batch_size=100", "batch_size", 100, int),
        ("batch_size=1", "batch_size", 1, int),
        (" batch_size = 64 ", "batch_size", 64, int),
    ],
)
def test_parse_pin(text, name, value, kind):
    parsed = parse_pin(text)
    assert parsed == (name, value)
    assert type(parsed[1]) is kind


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("dropout", "NAME=VALUE"),
        ("dropout=", "NAME=VALUE"),
        ("=0.5", "NAME=VALUE"),
        ("momentum=0.9", "unknown hyperparameter"),
        ("batch_size=abc", "not int"),
        ("batch_size=1.5", "not int"),
        ("batch_size=0", "outside"),
        ("dropout=abc", "not float"),
        ("dropout=1", "outside [0, 1)"),
        ("dropout=-0.1", "outside"),
        ("augment_factor=1", "outside [0, 1)"),
        ("learning_rate=0", "outside (0, inf)"),
        ("learning_rate=-1e-3", "outside"),
        ("l1=-1", "outside [0, inf)"),
        ("l2=-1e-6", "outside"),
        ("dropout=nan", "outside"),
        ("augment_factor=inf", "outside"),
        ("l1=inf", "outside"),
        ("learning_rate=-inf", "outside"),
    ],
)
def test_parse_pin_rejects(text, words):
    with pytest.raises(PinError, match=re.escape(words)):
        parse_pin(text)


def test_pin_error_is_value_error():
    assert issubclass(PinError, ValueError)


def test_parse_pins():
    assert parse_pins(["dropout=0.5", "batch_size=64"]) == {"dropout": 0.5, "batch_size": 64}
    assert parse_pins([]) == {}


def test_parse_pins_rejects_name_twice():
    with pytest.raises(PinError, match="dropout given twice"):
        parse_pins(["dropout=0.1", "l1=0", "dropout=0.2"])


# --- building models ----------------------------------------------------------------------------


def layers_of(model: keras.Model, kind) -> list:
    return [layer for layer in model.layers if isinstance(layer, kind)]


def learning_rate(model: keras.Model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_build_with_defaults(name):
    hp = search_space()
    model = hypermodels.get_hypermodel(name).build(hp)

    assert model.output_shape == (None, 10)
    assert model.input_shape == (None, 28, 28, 1)
    assert model.optimizer is not None
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert math.isclose(learning_rate(model), hp.get("learning_rate"), rel_tol=1e-6)
    assert model.loss == "categorical_crossentropy"
    # The defaults: augmentation at its smallest searched factor, no regularizer.
    assert len(layers_of(model, AUGMENTATION_LAYERS)) == 3
    assert all(layer.kernel_regularizer is None for layer in layers_of(model, keras.layers.Dense))


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_build_uses_pinned_learning_rate_and_dropout(name):
    hp = search_space({"learning_rate": 3e-3, "dropout": 0.3})
    model = hypermodels.get_hypermodel(name).build(hp)

    assert math.isclose(learning_rate(model), 3e-3, rel_tol=1e-6)
    [dropout] = layers_of(model, keras.layers.Dropout)
    assert dropout.rate == pytest.approx(0.3)


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_augment_factor_zero_switches_augmentation_off(name):
    model = hypermodels.get_hypermodel(name).build(search_space({"augment_factor": 0.0}))
    assert layers_of(model, AUGMENTATION_LAYERS) == []


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_augment_factor_adds_three_layers(name):
    model = hypermodels.get_hypermodel(name).build(search_space({"augment_factor": 0.1}))
    for kind in AUGMENTATION_LAYERS:
        assert len(layers_of(model, kind)) == 1, kind.__name__
    [rotation] = layers_of(model, keras.layers.RandomRotation)
    assert rotation.factor == pytest.approx((-0.1, 0.1))


def weighted_layers(model: keras.Model) -> list:
    return layers_of(model, (keras.layers.Conv2D, keras.layers.Dense))


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_l1_regularizes_every_kernel(name):
    model = hypermodels.get_hypermodel(name).build(search_space({"l1": 1e-4}))
    layers = weighted_layers(model)

    assert len(layers) == (4 if name == "cnn" else 2)
    for layer in layers:
        regularizer = layer.kernel_regularizer
        assert isinstance(regularizer, keras.regularizers.L1L2), layer.name
        assert regularizer.l1 == pytest.approx(1e-4)
        assert regularizer.l2 == 0


@pytest.mark.parametrize("name", ["cnn", "mlp"])
@pytest.mark.parametrize(("l1", "l2"), [(0.0, 1e-3), (1e-6, 1e-5)])
def test_l2_regularizes_every_kernel(name, l1, l2):
    model = hypermodels.get_hypermodel(name).build(search_space({"l1": l1, "l2": l2}))
    layers = weighted_layers(model)
    assert layers
    for layer in layers:
        assert isinstance(layer.kernel_regularizer, keras.regularizers.L1L2), layer.name
        assert layer.kernel_regularizer.l1 == pytest.approx(l1)
        assert layer.kernel_regularizer.l2 == pytest.approx(l2)


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_no_regularizer_when_both_zero(name):
    model = hypermodels.get_hypermodel(name).build(search_space({"l1": 0.0, "l2": 0.0}))
    layers = weighted_layers(model)
    assert layers
    assert [layer.kernel_regularizer for layer in layers] == [None] * len(layers)
    assert model.losses == []


def test_cnn_architecture():
    model = hypermodels.get_hypermodel("cnn").build(search_space())

    assert model.name == "cnn"
    assert [layer.filters for layer in layers_of(model, keras.layers.Conv2D)] == [64, 128]
    assert len(layers_of(model, keras.layers.MaxPooling2D)) == 2
    assert [layer.units for layer in layers_of(model, keras.layers.Dense)] == [800, 10]


def test_mlp_architecture():
    model = hypermodels.get_hypermodel("mlp").build(search_space())

    assert model.name == "mlp"
    assert layers_of(model, keras.layers.Conv2D) == []
    assert [layer.units for layer in layers_of(model, keras.layers.Dense)] == [800, 10]


def test_unknown_hypermodel():
    with pytest.raises(KeyError):
        hypermodels.get_hypermodel("resnet")


class CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


# 100 is outside the searched choices: a pin may leave the range.
@pytest.mark.parametrize(("batch_size", "steps"), [(32, 2), (100, 1)])
def test_fit_uses_pinned_batch_size(batch_size, steps):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(64, 28, 28, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 10, size=64), 10).astype("float32")
    hp = search_space({"batch_size": batch_size})
    hypermodel = hypermodels.get_hypermodel("cnn")
    model = hypermodel.build(hp)
    counter = CountBatches()

    history = hypermodel.fit(hp, model, x, y, epochs=1, callbacks=[counter], verbose=0)

    assert "loss" in history.history
    assert len(history.history["loss"]) == 1
    assert np.isfinite(history.history["loss"][0])
    assert counter.batches == steps
