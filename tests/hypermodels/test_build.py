"""hypermodels: the cnn and mlp built and trained for each kind of hyperparameter value."""

from __future__ import annotations

import math

import keras
import keras_tuner as kt
import numpy as np
import pytest

import hypermodels
from hypermodels import space
from hypermodels.space import search_space
from tuning.data import hold_out, load_dataset, split

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
    model.run_eagerly = True  # the batches fit makes, without ~1.5 s of graph tracing
    counter = CountBatches()

    history = hypermodel.fit(hp, model, x, y, epochs=1, callbacks=[counter], verbose=0)

    assert "loss" in history.history
    assert len(history.history["loss"]) == 1
    assert np.isfinite(history.history["loss"][0])
    assert counter.batches == steps


# --- the full space: every value of every new name, built and trained -----------------------


@pytest.fixture(scope="module")
def images(data_dir):
    """64 real MNIST training images and their one-hot labels."""
    data = split(hold_out(load_dataset("mnist", data_dir)), train_limit=64)
    return data.x_train, data.y_train


def hidden_layers(model: keras.Model) -> list:
    return weighted_layers(model)[:-1]


def check_activation(model, history, value):
    for layer in hidden_layers(model):
        assert layer.activation is keras.activations.get(value), layer.name
    assert weighted_layers(model)[-1].activation is keras.activations.softmax


def check_initializer(model, history, value):
    kind = type(keras.initializers.get(value))
    for layer in hidden_layers(model):
        assert type(layer.kernel_initializer) is kind, layer.name
    # The softmax output keeps Keras's default.
    assert type(weighted_layers(model)[-1].kernel_initializer) is keras.initializers.GlorotUniform


def check_batch_norm(model, history, value):
    norms = layers_of(model, keras.layers.BatchNormalization)
    hidden = hidden_layers(model)
    if not value:
        assert norms == [] and layers_of(model, keras.layers.Activation) == []
        assert all(layer.use_bias for layer in hidden)
        return
    assert len(norms) == len(hidden) == 3  # two convolutions and the dense layer
    for layer in hidden:
        assert not layer.use_bias and layer.activation is keras.activations.linear, layer.name
        following = model.layers[model.layers.index(layer) + 1]
        assert isinstance(following, keras.layers.BatchNormalization), layer.name
        activation = model.layers[model.layers.index(layer) + 2]
        assert isinstance(activation, keras.layers.Activation), layer.name
        assert activation.activation is keras.activations.relu


OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}


def check_optimizer(model, history, value):
    assert type(model.optimizer) is OPTIMIZERS[value]
    assert learning_rate(model) == pytest.approx(1e-3, rel=1e-6)
    if value == "sgd":
        assert model.optimizer.momentum == 0.9 and model.optimizer.nesterov
    if value != "adamw":
        assert model.optimizer.weight_decay is None


def check_weight_decay(model, history, value):
    assert type(model.optimizer) is keras.optimizers.AdamW
    assert model.optimizer.weight_decay == pytest.approx(value)
    # Decoupled: the decay is in the optimizer, never a penalty in the loss.
    assert model.losses == []


def check_bias_l2(model, history, value):
    for layer in weighted_layers(model):
        regularizer = layer.bias_regularizer
        if value == 0:
            assert regularizer is None, layer.name
        else:
            assert isinstance(regularizer, keras.regularizers.L2), layer.name
            assert float(regularizer.l2) == pytest.approx(value)
    assert len(model.losses) == (4 if value else 0)


def check_activity_l1(model, history, value):
    for layer in hidden_layers(model):
        regularizer = layer.activity_regularizer
        if value == 0:
            assert regularizer is None, layer.name
        else:
            assert isinstance(regularizer, keras.regularizers.L1), layer.name
            assert float(regularizer.l1) == pytest.approx(value)
    assert weighted_layers(model)[-1].activity_regularizer is None


def check_filters(model, history, value):
    assert [layer.filters for layer in layers_of(model, keras.layers.Conv2D)] == [value, 2 * value]


def check_lr_schedule(model, history, value):
    lrs = history.history["learning_rate"]
    if value == "cosine":
        # CosineDecay over 2 epochs: the full rate, then half of it.
        assert lrs == pytest.approx([1e-3, 5e-4], rel=1e-5)
    else:
        assert lrs == pytest.approx([1e-3, 1e-3], rel=1e-5)


CHECKS = {
    "activation": check_activation,
    "initializer": check_initializer,
    "batch_norm": check_batch_norm,
    "optimizer": check_optimizer,
    "weight_decay": check_weight_decay,
    "bias_l2": check_bias_l2,
    "activity_l1": check_activity_l1,
    "filters": check_filters,
    "lr_schedule": check_lr_schedule,
}


def declared_values(name: str) -> list:
    """Every value the full space can give `name`, read from its declaration."""
    [declared] = [h for h in search_space(space="full").space if h.name == name]
    if isinstance(declared, kt.engine.hyperparameters.Boolean):
        return [False, True]
    return list(declared.values)


# Real values, read from the declarations, so a value added there is tested here too.
FULL_VALUES = [(name, value) for name in CHECKS for value in declared_values(name)]
# Pins that keep every training short: no augmentation, few filters, a known rate.
FAST = {"augment_factor": 0.0, "filters": 32, "learning_rate": 1e-3, "batch_size": 32}


@pytest.mark.parametrize(("name", "value"), FULL_VALUES)
def test_every_full_value_builds_and_trains(images, name, value):
    pins = {**FAST, name: value}
    if name == "weight_decay":
        pins["optimizer"] = "adamw"
    hp = search_space(pins, space="full")
    hypermodel = hypermodels.get_hypermodel("cnn", space="full")
    model = hypermodel.build(hp)
    # The same layers, optimizer and callbacks without ~1.5 s of graph tracing per model; the
    # search tests train the compiled graphs.
    model.run_eagerly = True
    # ReduceLROnPlateau as the tuner passes it; patience 5 keeps the rate over these epochs.
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=5)
    callbacks = [plateau]
    epochs = 2 if name == "lr_schedule" else 1

    history = hypermodel.fit(hp, model, *images, epochs=epochs, callbacks=callbacks, verbose=0)

    assert np.isfinite(history.history["loss"]).all()
    assert len(history.history["loss"]) == epochs
    assert callbacks == [plateau]  # the tuner's list is never changed in place
    CHECKS[name](model, history, value)


def test_full_space_values_cover_every_new_name():
    assert set(CHECKS) == set(space.FULL_NAMES)
    assert len(FULL_VALUES) == 4 + 2 + 2 + 4 + 5 + 5 + 5 + 3 + 2


def build_afresh(hypermodel, hp) -> keras.Model:
    keras.backend.clear_session()  # restarts layer names, so two configs can be compared
    keras.utils.set_random_seed(1)
    return hypermodel.build(hp)


def test_full_space_at_its_defaults_builds_the_card_model():
    card = build_afresh(hypermodels.get_hypermodel("cnn"), search_space())
    full = hypermodels.get_hypermodel("cnn", space="full")
    default = build_afresh(full, search_space(space="full"))
    assert card.get_config() == default.get_config()
    assert type(card.optimizer) is type(default.optimizer)
    for a, b in zip(card.get_weights(), default.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_mlp_in_the_full_space_reads_no_filters():
    hp = search_space({"batch_norm": True}, space="full", hypermodel="mlp")
    model = hypermodels.get_hypermodel("mlp", space="full").build(hp)
    assert "filters" not in hp.values
    assert len(layers_of(model, keras.layers.BatchNormalization)) == 1


def test_card_model_declares_no_full_name():
    hp = search_space()
    hypermodels.get_hypermodel("cnn").build(hp)
    assert [h.name for h in hp.space] == list(space.NAMES)


def test_unknown_space():
    with pytest.raises(ValueError, match="unknown search space"):
        hypermodels.get_hypermodel("cnn", space="huge")
