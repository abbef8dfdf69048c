"""Searched values as inputs of the compiled training step, not constants in it.

A compiled program (XLA's: always under JAX, on GPUs under TensorFlow) holds every Python
number of the model as a constant. A trial's dropout rate and L1/L2 strengths made its
program its own, so no compilation cache could serve it to the next trial (issue 28). Built
with `searched_inputs`, a network keeps them as variables of one identity layer,
`SearchedValues`, which its dropout layer and its kernels' regularizer read: a later trial
of the same shapes (network and batch size) runs the very same program, found in JAX's
persistent cache. The learning rate already is a variable (the optimizer's), and the fast
path augments outside the model.

The variables live in a layer of the model, so that JAX's stateless step takes them as
inputs like the weights; the layers that read them hold a function, not the variable, so
Keras does not count it twice. Keras's own layers come back for best_model.keras: built
without `searched_inputs`, the same network loads the checkpoint (the extra layer's
variables are skipped), and the file loads with Keras alone.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

NAME = "searched_values"


class SearchedValues(keras.layers.Layer):
    """An identity layer whose non-trainable variables are the searched values others read."""

    def __init__(self, values: dict[str, float], **kwargs):
        # float32 and no autocast: it passes the images on as they came, whatever the policy.
        super().__init__(name=NAME, dtype="float32", autocast=False, **kwargs)
        for name, value in values.items():
            self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(value),
                trainable=False,
                dtype="float32",
                name=name,
            )

    def call(self, inputs):  # noqa: ANN001, ANN201, D102
        return inputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:  # noqa: D102
        return input_shape

    def reader(self, name: str) -> Callable[[], keras.Variable]:
        """A function that gives the variable `name`: what a reading layer holds."""
        return lambda: next(v for v in self.non_trainable_variables if v.name == name)


class SearchedDropout(keras.layers.Dropout):
    """Dropout at the rate a `SearchedValues` variable holds, read at every step."""

    def __init__(self, rate: Callable[[], keras.Variable], **kwargs):
        super().__init__(rate=0.5, **kwargs)  # above 0: Keras then makes its seed generator
        self.rate_of = rate

    def call(self, inputs, training: bool = False):  # noqa: ANN001, ANN201, D102
        if not training:
            return inputs
        return dropout(inputs, self.rate_of(), self.seed_generator.next())


def dropout(inputs, rate, seed):  # noqa: ANN001, ANN201
    """Keras's own dropout (`keras.random.dropout`) at a tensor rate: the same mask per seed.

    Keras's tests `rate == 1.0` in Python, which a tensor cannot answer; the rest is its
    code on each backend, so that a trial trains as with a constant rate.
    """
    name = keras.backend.backend()
    if name == "tensorflow":
        import tensorflow as tf

        if seed.dtype != tf.int32:  # Keras's seeds are int64 variables on TensorFlow
            seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")
        return tf.nn.experimental.stateless_dropout(
            inputs, rate=ops.cast(rate, inputs.dtype), seed=seed
        )
    if name == "jax":
        import jax

        keep = 1.0 - rate
        mask = jax.random.bernoulli(seed, p=keep, shape=inputs.shape)
        return jax.lax.select(mask, inputs / ops.cast(keep, inputs.dtype), ops.zeros_like(inputs))
    keep = 1.0 - rate  # other backends: the same distribution, drawn Keras's generic way
    mask = keras.random.uniform(ops.shape(inputs), seed=seed) < keep
    return ops.where(mask, inputs / ops.cast(keep, inputs.dtype), ops.zeros_like(inputs))


class SearchedL1L2(keras.regularizers.Regularizer):
    """Elastic net with strengths read from `SearchedValues` variables at every step."""

    def __init__(self, l1: Callable[[], keras.Variable], l2: Callable[[], keras.Variable]):
        self.l1_of, self.l2_of = l1, l2

    def __call__(self, x):  # noqa: ANN001, ANN204
        """The penalty of the weights `x`."""
        l1 = ops.cast(self.l1_of(), x.dtype)
        l2 = ops.cast(self.l2_of(), x.dtype)
        return l1 * ops.sum(ops.absolute(x)) + l2 * ops.sum(ops.square(x))
