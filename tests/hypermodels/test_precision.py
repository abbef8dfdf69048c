"""Every space, hypermodel and precision trains to a finite loss, penalties in float32."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from hypermodels import full, get_hypermodel
from hypermodels.space import search_space
from hypermodels.training import PRECISIONS, TrainingPath
from tuning.data import hold_out, load_dataset, split

# Every numeric name at the top of its range, where a low-precision sum overflows or rounds
# first: the largest penalties, augmentation, dropout and learning rate.
LARGEST = {
    "augment_factor": 0.3,
    "dropout": 0.7,
    "l1": 1e-3,
    "l2": 1e-3,
    "learning_rate": 1e-2,
    "batch_size": 16,
}
FULL_LARGEST = {**LARGEST, "bias_l2": 1e-3, "activity_l1": 1e-3}
# The full space's categorical values, dealt out over the cases so that each one appears.
CATEGORICAL = {
    "activation": full.ACTIVATIONS,
    "initializer": full.INITIALIZERS,
    "optimizer": full.OPTIMIZERS,
    "lr_schedule": full.LR_SCHEDULES,
}


def full_cases() -> list[tuple[str, str, dict]]:
    """(hypermodel, precision, pins): batch_norm on for every pair, then off for the cnn."""
    pairs = [(h, p, True) for h in ("cnn", "mlp") for p in PRECISIONS]
    pairs += [("cnn", p, False) for p in PRECISIONS]
    # The widest network in float32, the narrowest where 16-bit arithmetic may be emulated.
    filters = dict(zip(PRECISIONS, sorted(full.FILTER_WIDTHS, reverse=True), strict=True))
    cases = []
    for i, (hypermodel, precision, batch_norm) in enumerate(pairs):
        pins = {**FULL_LARGEST, "batch_norm": batch_norm}
        # Offsets keep the optimizer from always meeting the same activation.
        for shift, (name, values) in enumerate(CATEGORICAL.items()):
            pins[name] = values[(i + shift) % len(values)]
        if pins["optimizer"] == "adamw":
            pins["weight_decay"] = max(full.WEIGHT_DECAYS)
        if hypermodel == "cnn":
            pins["filters"] = filters[precision]
        cases.append((hypermodel, precision, pins))
    return cases


CASES = [("card", h, p, LARGEST) for h in ("cnn", "mlp") for p in PRECISIONS]
CASES += [("full", h, p, pins) for h, p, pins in full_cases()]


@pytest.fixture(scope="module")
def images(data_dir):
    """48 real MNIST training images and 16 validation images."""
    data = split(hold_out(load_dataset("mnist", data_dir)), train_limit=48)
    return data.x_train, data.y_train, data.x_val[:16], data.y_val[:16]


@pytest.fixture
def restore_policy():
    """Building sets Keras's global dtype policy; later tests expect float32."""
    yield
    keras.config.set_dtype_policy("float32")


def dtype(tensor) -> str:
    return keras.backend.standardize_dtype(tensor.dtype)


def penalty_count(model: keras.Model) -> int:
    """How many penalties the model should add to its loss, counted from its layers."""
    count = 0
    for layer in model.layers:
        for name in ("kernel_regularizer", "bias_regularizer", "beta_regularizer"):
            count += getattr(layer, name, None) is not None
        count += layer.activity_regularizer is not None
    return count


@pytest.mark.parametrize(
    ("space_name", "hypermodel_name", "precision", "pins"),
    CASES,
    ids=[f"{s}-{h}-{p}-{i}" for i, (s, h, p, _) in enumerate(CASES)],
)
def test_largest_penalties_train_to_a_finite_loss(
    images, restore_policy, space_name, hypermodel_name, precision, pins
):
    x, y, x_val, y_val = images
    path = TrainingPath(precision=precision, input_pipeline=True)
    hypermodel = get_hypermodel(hypermodel_name, space=space_name, path=path)
    hp = search_space(pins, space=space_name, hypermodel=hypermodel_name)
    keras.utils.set_random_seed(5)
    model = hypermodel.build(hp)
    callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=5)]

    history = hypermodel.fit(
        hp, model, x, y, validation_data=(x_val, y_val), epochs=1, callbacks=callbacks, verbose=0
    )

    assert np.isfinite(history.history["loss"]).all()
    assert np.isfinite(history.history["val_loss"]).all()
    compute = keras.mixed_precision.Policy(precision).compute_dtype
    assert model.layers[0].compute_dtype == compute
    # Every penalty, and the loss they are added to, in float32 whatever the layers compute in.
    predictions = model(x_val, training=True)
    assert len(model.losses) == penalty_count(model) > 0
    assert {dtype(loss) for loss in model.losses} == {"float32"}
    loss = model.compute_loss(x_val, y_val, predictions, training=True)
    assert dtype(loss) == "float32" and np.isfinite(keras.ops.convert_to_numpy(loss))


def test_the_cases_hold_every_categorical_value_of_the_full_space():
    seen: dict[str, set] = {}
    for space_name, _, _, pins in CASES:
        for name, value in pins.items():
            if space_name == "full":
                seen.setdefault(name, set()).add(value)
    for hp in search_space(space="full").space:
        if isinstance(hp, kt.engine.hyperparameters.Boolean):
            assert seen[hp.name] == {False, True}
        elif isinstance(hp, kt.engine.hyperparameters.Choice) and not hp.ordered:
            assert seen[hp.name] == set(hp.values), hp.name
    assert seen["filters"] == set(full.FILTER_WIDTHS)
