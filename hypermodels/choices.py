"""Turn the full space's values into Keras's own layers, optimizers and callbacks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras

Regularizer = keras.regularizers.Regularizer


@keras.saving.register_keras_serializable(package="hypermodels")
class ActivityL1(keras.regularizers.L1):
    """L1 on a layer's output, summed in float32 whatever the layer computes in.

    Under a mixed policy a layer's output is bfloat16 or float16, and so would be Keras's
    activity penalty: float16 overflows on large sums, bfloat16 keeps 3 significant digits,
    and Keras cannot add such a penalty to the float32 loss (a TypeError in `fit`). Kernel
    and bias penalties need nothing: their variables are float32 under every policy.
    """

    def __call__(self, x):
        """The penalty of output `x`, cast to float32 first."""
        return super().__call__(keras.ops.cast(x, "float32"))


def penalty(kind: type[Regularizer], strength: float) -> Regularizer | None:
    """`kind(strength)`, or None when it is 0 so no zero penalty is computed."""
    return kind(strength) if strength else None


@dataclass(frozen=True)
class LayerChoices:
    """How every hidden conv and dense layer is built; the defaults are the course's choices."""

    kernel_regularizer: Regularizer | None = None
    activation: str = "relu"
    initializer: str = "glorot_uniform"
    batch_norm: bool = False
    bias_l2: float = 0.0
    activity_l1: float = 0.0

    def hidden(self, layer: type[keras.layers.Layer], *args) -> list[keras.layers.Layer]:
        """`layer(*args)` with its activation, or with BatchNormalization before it.

        The activity penalty always acts on the activation's output, the layer's "activity".
        """
        activity = penalty(ActivityL1, self.activity_l1)
        bias = penalty(keras.regularizers.L2, self.bias_l2)
        weights = {
            "kernel_initializer": self.initializer,
            "kernel_regularizer": self.kernel_regularizer,
        }
        if not self.batch_norm:
            return [
                layer(
                    *args,
                    activation=self.activation,
                    bias_regularizer=bias,
                    activity_regularizer=activity,
                    **weights,
                )
            ]
        # BatchNormalization subtracts the batch mean, which cancels a bias; its beta takes
        # the bias's place, so beta is what bias_l2 penalizes.
        return [
            layer(*args, use_bias=False, **weights),
            keras.layers.BatchNormalization(beta_regularizer=bias),
            keras.layers.Activation(self.activation, activity_regularizer=activity),
        ]

    def output(self, units: int) -> keras.layers.Dense:
        """The softmax output layer.

        It keeps Keras's default initializer, since He's variance argument is about ReLU-like
        layers, and has no activity penalty, since a softmax output's L1 norm is always 1.
        """
        return keras.layers.Dense(
            units,
            activation="softmax",
            # Float32 under mixed precision too: a bfloat16 softmax rounds small
            # probabilities to 0 and makes the loss coarse.
            dtype="float32",
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=penalty(keras.regularizers.L2, self.bias_l2),
        )


def make_optimizer(
    name: str, learning_rate: float, weight_decay: float | None = None
) -> keras.optimizers.Optimizer:
    """The Keras optimizer `name` (adam, adamw, sgd, rmsprop) at `learning_rate`.

    `weight_decay` is AdamW's decoupled decay, `w <- w - lr * weight_decay * w` at each step
    beside the adaptive gradient step; the other optimizers take none.
    """
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    raise ValueError(f"unknown optimizer {name!r}")


def cosine_callbacks(
    callbacks: Sequence[keras.callbacks.Callback], learning_rate: float, epochs: int
) -> list[keras.callbacks.Callback]:
    """A new callback list that decays the learning rate along a cosine instead of on plateaus.

    The optimizer keeps a plain learning rate that LearningRateScheduler sets each epoch from
    Keras's CosineDecay, so `learning_rate` stays in the history as with ReduceLROnPlateau,
    which is dropped: the two would fight over the same rate.
    """
    decay = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs)

    def schedule(epoch: int) -> float:
        return float(keras.ops.convert_to_numpy(decay(epoch)))

    kept = [c for c in callbacks if not isinstance(c, keras.callbacks.ReduceLROnPlateau)]
    return [*kept, keras.callbacks.LearningRateScheduler(schedule)]
