"""`--model`: a user's plain Keras model, searched over the card's six names.

The user writes `build(input_shape, num_classes) -> keras.Model`: raw pixels in, a Dense
over the classes out, with a softmax or no activation. The tool rebuilds it around what it
searches: augmentation in the input pipeline, rescaling, dropout before the last layer,
L1/L2 on every kernel, Adam at the searched learning rate, the searched batch size.

Keras leaves regularizing a built model to the user (keras PRs #8632 and #16631), and a
regularizer set on a built layer adds no loss until the model is rebuilt (keras #9106): so
every layer with a kernel is cloned from its config with the penalty in it.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import keras_tuner as kt

from hypermodels import space
from hypermodels.augment import augmentation_layers
from hypermodels.base import ImageClassifier, kernel_regularizer
from hypermodels.choices import make_optimizer
from hypermodels.training import set_precision

ModelFunction = Callable[[tuple[int, ...], int], keras.Model]


class OwnModel(ImageClassifier):
    """A user's model function as a HyperModel of the card space; fit is the built-ins'."""

    def __init__(self, model_function: ModelFunction, spec: str, **kwargs):
        super().__init__(**kwargs)
        self.model_function = model_function
        self.spec = spec

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """The user's model rebuilt with the values in `hp`, compiled."""
        set_precision(self.path.precision)
        user = user_model(self.model_function, self.input_shape, self.num_classes, self.spec)
        regularizer = kernel_regularizer(space.l1(hp), space.l2(hp))
        features = keras.Model(user.inputs, user.layers[-1].input, name="features")
        if regularizer is not None:
            features = keras.models.clone_model(
                features, clone_function=lambda layer: penalized(layer, regularizer)
            )
        factor = space.augment_factor(hp)
        inputs = keras.Input(shape=self.input_shape)
        x = inputs
        # With the input pipeline, augmentation happens there (see `fit`).
        for layer in [] if self.path.input_pipeline else augmentation_layers(factor):
            x = layer(x)
        x = keras.layers.Rescaling(1.0 / 255)(x)
        x = keras.layers.Dropout(space.dropout(hp))(features(x))
        outputs = head(user.layers[-1], regularizer)(x)
        model = keras.Model(inputs, outputs, name=self.name)
        model.compile(
            optimizer=make_optimizer("adam", space.learning_rate(hp)),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=self.path.jit_compile,
        )
        return model


def user_model(
    function: ModelFunction, input_shape: tuple[int, ...], num_classes: int, spec: str
) -> keras.Model:
    """The user's model, checked against the contract.

    A Sequential written without an Input is built on the images' shape first.

    Raises:
        ValueError: in one line, saying what the model must be.
    """
    model = function(input_shape, num_classes)
    if isinstance(model, keras.Sequential) and not model.built:
        model.build((None, *input_shape))
    check_contract(model, num_classes, spec)
    return model


def check_contract(model: object, num_classes: int, spec: str) -> None:
    """Refuse a model that is not a Keras model ending in a Dense over the classes.

    Raises:
        ValueError: in one line, saying what the model must be.
    """
    contract = (
        f"--model {spec} must return a keras.Model whose last layer is a Dense of "
        f"{num_classes} units with a softmax or no activation"
    )
    if not isinstance(model, keras.Model):
        raise ValueError(f"{contract}; it returned {type(model).__name__}")
    if not model.built or not model.layers or not model.inputs:
        raise ValueError(f"{contract}, as a Sequential or functional model")
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense) or last.units != num_classes:
        units = f" of {last.units} units" if isinstance(last, keras.layers.Dense) else ""
        raise ValueError(f"{contract}; its last is a {type(last).__name__}{units}")
    activation = keras.activations.serialize(last.activation)
    if activation not in ("softmax", "linear"):
        raise ValueError(f"{contract}; its last has activation {activation}")


def penalized(layer: keras.layers.Layer, regularizer) -> keras.layers.Layer:
    """A fresh copy of `layer` with `regularizer` on its kernel, if it has a kernel."""
    config = layer.get_config()
    if "kernel_regularizer" in config:
        config["kernel_regularizer"] = keras.regularizers.serialize(regularizer)
    return layer.__class__.from_config(config)


def head(last: keras.layers.Dense, regularizer) -> keras.layers.Dense:
    """The user's last layer, fresh, with a softmax computed in float32 and the penalty.

    Float32 under mixed precision too, as the built-in networks' output: a bfloat16 softmax
    rounds small probabilities to 0 and makes the loss coarse.
    """
    config = last.get_config()
    config.update(activation="softmax", dtype="float32", name="output")
    penalty = keras.regularizers.serialize(regularizer) if regularizer is not None else None
    config["kernel_regularizer"] = penalty
    return keras.layers.Dense.from_config(config)
