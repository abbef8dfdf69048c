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
    # Each epoch's order and augmentation draws follow from (seed, epoch) alone, so a trial
    # resumed after epoch k sees the batches an uninterrupted one would (issue 27). Searches
    # saved before drew them from how many epochs the pipeline had served (`False`).
    epoch_seeds: bool = True
    # Dropout rate and L1/L2 strengths as variables the compiled step reads, so that one
    # program serves every trial of the same shapes (hypermodels.searched). Where a step is
    # compiled (XLA: JAX, TensorFlow on GPUs); elsewhere constants cost nothing more.
    searched_inputs: bool = False

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r} (known: {PRECISIONS})")

    def to_json(self) -> dict:
        """The path as JSON-ready values, for run.json and bench output."""
        return asdict(self)


PLAIN = TrainingPath()


def epoch_batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, epochs: range, augment=None
):
    """The batches of `epochs`, one after the other, each epoch's a function of (seed, epoch).

    Epoch e serves the images in the order `stateless_shuffle` draws from (seed, e), and its
    batch i is augmented with `augment(images, seed=s)`, s folded from (seed, e) and i. So
    nothing depends on how many epochs the pipeline served before: a fit that starts at
    epoch k (a resumed trial) sees from there on what an uninterrupted fit saw. The arrays
    become tensors once, each batch is one gather, and the next batch is prepared ahead,
    across epoch ends too; fit reads it with `steps_per_epoch` = `steps(len(x), batch_size)`.
    """
    import tensorflow as tf

    images, labels = tf.constant(x), tf.constant(y)
    base = tf.constant(seed, tf.int64)

    def one_epoch(epoch):
        pair = tf.stack([base, epoch])
        order = tf.random.experimental.stateless_shuffle(tf.range(len(x), dtype=tf.int64), pair)
        seeds = tf.data.Dataset.range(steps(len(x), batch_size)).map(
            lambda i: tf.random.experimental.stateless_fold_in(pair, i)
        )
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
        return tf.data.Dataset.zip(batches, seeds)

    def batch(indices, batch_seed):
        picked = tf.gather(images, indices)
        return (picked if augment is None else augment(picked, seed=batch_seed)), tf.gather(
            labels, indices
        )

    return (
        tf.data.Dataset.range(epochs.start, epochs.stop)
        .flat_map(one_epoch)
        .map(batch, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def steps(images: int, batch_size: int) -> int:
    """Batches in an epoch of `images`, the last one partial."""
    return -(-images // batch_size)


def train_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """Shuffled batches of (x, y), reshuffled every epoch: searches saved before epoch seeds.

    Each epoch's order comes from how many epochs were served before, so a resumed trial
    cannot pick up its order mid-way; `epoch_batches` replaced it.
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
    """Apply `augment(images, seed=...)` to every batch of `train_dataset`, a seed each.

    The seeds come from their own seeded stream, new every epoch (searches saved before epoch
    seeds).
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
