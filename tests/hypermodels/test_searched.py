"""Dropout and L1/L2 read from variables train exactly as the same values as constants."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hypermodels import get_hypermodel
from hypermodels.searched import SearchedDropout, SearchedValues
from hypermodels.space import COURSE_VALUES, search_space
from hypermodels.training import TrainingPath

VALUES = {**COURSE_VALUES["mnist"], "dropout": 0.4, "l1": 1e-4, "l2": 1e-3}


def trained(searched: bool, x, y) -> tuple[keras.Model, list[float]]:
    """The mlp with VALUES after two epochs, as constants or as searched inputs."""
    keras.utils.set_random_seed(5)
    path = TrainingPath(input_pipeline=True, searched_inputs=searched)
    hypermodel = get_hypermodel("mlp", path=path)
    hp = search_space(VALUES)
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, x, y, validation_data=(x[:64], y[:64]), epochs=2)
    return model, history.history["loss"]


def test_values_as_variables_train_as_constants_and_export_as_keras_layers(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (256, 28, 28, 1)).astype("uint8")
    y = keras.utils.to_categorical(rng.integers(0, 10, 256), 10)
    constant, constant_loss = trained(False, x, y)
    searched, searched_loss = trained(True, x, y)
    layers = {type(layer) for layer in searched.layers}
    assert {SearchedValues, SearchedDropout} <= layers
    values = {v.name: float(v.numpy()) for v in searched.layers[0].weights}
    assert values == pytest.approx({"dropout": 0.4, "l1": 1e-4, "l2": 1e-3})  # float32
    # The same masks, penalties and steps: the losses (penalties included) and weights.
    np.testing.assert_allclose(searched_loss, constant_loss, rtol=1e-6)
    for ours, keras_own in zip(searched.get_weights()[3:], constant.get_weights(), strict=True):
        np.testing.assert_allclose(ours, keras_own, rtol=1e-4, atol=1e-6)

    # Keras's own layers load the searched network's checkpoint, its variables skipped.
    checkpoint = tmp_path / "checkpoint.weights.h5"
    searched.save_weights(checkpoint)
    hypermodel = get_hypermodel("mlp", path=TrainingPath(searched_inputs=True))
    with hypermodel.keras_layers_only():
        plain = hypermodel.build(search_space(VALUES))
    assert hypermodel.path.searched_inputs  # as it was, after the block
    assert not {SearchedValues, SearchedDropout} & {type(layer) for layer in plain.layers}
    plain.optimizer.build(plain.trainable_variables)  # as best_model.keras is written
    plain.load_weights(checkpoint)
    assert int(plain.optimizer.iterations.numpy()) == int(searched.optimizer.iterations.numpy())
    for loaded, saved in zip(plain.get_weights(), searched.get_weights()[3:], strict=True):
        np.testing.assert_array_equal(loaded, saved)
