"""hypermodels.own: a user's plain Keras model, rebuilt around the card's six names."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hypermodels.own import OwnModel, check_contract
from hypermodels.space import search_space
from hypermodels.training import TrainingPath


def functional(input_shape, num_classes):
    """A small functional model with batch normalization and no softmax."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def sequential(input_shape, num_classes):
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )


def own(function, precision="float32", shape=(12, 12, 1), classes=3) -> OwnModel:
    path = TrainingPath(precision=precision, input_pipeline=True)
    return OwnModel(
        function, "m.py:f", name="model", path=path, input_shape=shape, num_classes=classes
    )


@pytest.mark.parametrize("function", [functional, sequential])
def test_the_model_is_rebuilt_with_dropout_a_softmax_and_the_penalties(function):
    hp = search_space({"dropout": 0.3, "l1": 1e-4, "l2": 1e-3})
    model = own(function).build(hp)
    dropout, output = model.layers[-2], model.layers[-1]
    assert isinstance(dropout, keras.layers.Dropout) and dropout.rate == pytest.approx(0.3)
    assert output.units == 3 and keras.activations.serialize(output.activation) == "softmax"
    # Every kernel carries the elastic net, and the penalties count in the loss.
    kernels = [layer for layer in model.layers[-3].layers if hasattr(layer, "kernel")]
    assert kernels and all(layer.kernel_regularizer is not None for layer in kernels)
    assert output.kernel_regularizer is not None
    assert len(model.losses) == len(kernels) + 1
    assert isinstance(model.layers[1], keras.layers.Rescaling)  # it takes raw pixels


def test_without_penalties_the_model_has_no_loss_terms():
    model = own(functional).build(search_space({"l1": 0.0, "l2": 0.0}))
    assert model.losses == []


def test_it_trains_and_its_output_stays_float32_under_mixed_precision():
    hypermodel = own(functional, precision="mixed_bfloat16")
    hp = search_space({"batch_size": 32})
    model = hypermodel.build(hp)
    assert model.layers[-1].compute_dtype == "float32"
    x = np.random.default_rng(0).integers(0, 256, (64, 12, 12, 1)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(64) % 3]
    history = hypermodel.fit(hp, model, x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize(
    ("returned", "said"),
    [
        (lambda s, n: "not a model", "it returned str"),
        (lambda s, n: keras.Sequential([keras.Input(s), keras.layers.Flatten()]), "a Flatten"),
        (lambda s, n: sequential(s, n + 1), "a Dense of 4 units"),
        (
            lambda s, n: keras.Sequential(
                [keras.Input(s), keras.layers.Flatten(), keras.layers.Dense(n, "relu")]
            ),
            "activation relu",
        ),
    ],
    ids=["not-a-model", "no-dense-last", "wrong-units", "wrong-activation"],
)
def test_a_model_that_breaks_the_contract_is_refused_in_one_line(returned, said):
    with pytest.raises(ValueError) as info:
        check_contract(returned((12, 12, 1), 3), 3, "m.py:f")
    message = str(info.value)
    assert "\n" not in message and said in message
    assert message.startswith(
        "--model m.py:f must return a keras.Model whose last layer is a Dense"
    )


def test_a_sequential_without_an_input_is_built_on_the_images_shape():
    def no_input(input_shape, num_classes):
        return keras.Sequential(
            [keras.layers.Flatten(), keras.layers.Dense(num_classes, activation="softmax")]
        )

    model = own(no_input, shape=(9, 7, 3), classes=5).build(search_space())
    assert model.input_shape == (None, 9, 7, 3) and model.output_shape == (None, 5)
