"""How a hypermodel trains, apart from what is searched: precision, XLA, input, augmentation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclass(frozen=True)
class TrainingPath:
    """The speed levers of one training run; none of them is a hyperparameter.

    The defaults are the plain path that KerasTuner's guides and the course write: float32,
    Keras's default compile, numpy arrays straight into `fit`, three augmentation layers.
    """

    precision: str = "float32"  # a Keras dtype policy; the softmax stays float32 in all
    jit_compile: bool | str = "auto"  # Keras's default: XLA on GPUs, not on CPUs
    # An input pipeline that also augments, with one fused transform, instead of numpy
    # arrays into fit and three augmentation layers in the model: tf.data on TensorFlow,
    # hypermodels.batches on other backends.
    input_pipeline: bool = False

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r} (known: {PRECISIONS})")

    def to_json(self) -> dict:
        """The path as JSON-ready values, for run.json and bench output."""
        return asdict(self)


PLAIN = TrainingPath()


def train_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """Shuffled batches of (x, y), reshuffled every epoch, prepared ahead of the model (TF).

    The arrays become tensors once; each batch is one gather of shuffled indices, so no
    per-image Python or per-element shuffle buffer work remains in the training loop.
    """
    import tensorflow as tf

    images, labels = tf.constant(x), tf.constant(y)
    indices = tf.data.Dataset.range(len(x)).shuffle(
        len(x), seed=seed, reshuffle_each_iteration=True
    )
    return (
        indices.batch(batch_size)
        .map(
            lambda i: (tf.gather(images, i), tf.gather(labels, i)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def augment_batches(batches, augment, seed: int):
    """Apply `augment(images, seed=...)` to every batch, with a fresh stateless seed each.

    The seeds come from their own seeded stream, new every epoch, so each batch's draws are
    fixed whichever tf.data thread runs it, and differ from epoch to epoch.
    """
    import tensorflow as tf

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return (
        tf.data.Dataset.zip(batches, seeds)
        .map(lambda xy, s: (augment(xy[0], seed=s), xy[1]), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def eval_dataset(x: np.ndarray, y: np.ndarray, batch_size: int):
    """Batches of (x, y) in order, kept in memory after the first pass, prepared ahead."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).cache().prefetch(2)


def set_precision(precision: str) -> None:
    """Make `precision` the dtype policy of the layers built from now on."""
    import keras

    keras.config.set_dtype_policy(precision)
