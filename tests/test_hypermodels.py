"""hypermodels: the cnn and mlp built and trained for each kind of hyperparameter value."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import hypermodels
from hypermodels.space import search_space

AUGMENTATION_LAYERS = (
    keras.layers.RandomRotation,
    keras.layers.RandomTranslation,
    keras.layers.RandomZoom,
)


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
