"""What the course's image classifiers share: augmentation, rescaling, regularized head, Adam."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from functools import partial

import keras
import keras_tuner as kt
import numpy as np

from hypermodels import COURSE_CLASSES, COURSE_INPUT, full, space
from hypermodels.augment import augmentation_layers, fused_affine, random_affine
from hypermodels.batches import ShuffledBatches, compiled
from hypermodels.choices import LayerChoices, cosine_callbacks, make_optimizer
from hypermodels.searched import SearchedDropout, SearchedL1L2, SearchedValues
from hypermodels.training import (
    PLAIN,
    TrainingPath,
    augment_batches,
    epoch_batches,
    eval_dataset,
    set_precision,
    steps,
    train_dataset,
)

HIDDEN_UNITS = 800


def kernel_regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    """Elastic net `L1L2(l1, l2)`, or None when both are 0 so no zero penalty is computed."""
    return keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None


class ImageClassifier(kt.HyperModel):
    """An image classifier for any image shape and classes; subclasses supply the features.

    The course's images are 28x28 grayscale, of 10 classes: the defaults.

    Built for the `card` space it reads only the card's names and makes the course's fixed
    choices (ReLU, Glorot, no batch normalization, Adam, ReduceLROnPlateau); for the `full`
    space it reads those choices from the hyperparameters too.
    """

    def __init__(
        self,
        space: str = "card",
        path: TrainingPath = PLAIN,
        input_shape: tuple[int, ...] = COURSE_INPUT,
        num_classes: int = COURSE_CLASSES,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.space_name = space
        self.path = path
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes

    @property
    def full_space(self) -> bool:
        """Whether the model reads the full space's names."""
        return self.space_name == "full"

    def feature_layers(
        self, hp: kt.HyperParameters, layers: LayerChoices
    ) -> list[keras.layers.Layer]:
        """Layers between rescaling and the dense head, ending in a flat vector."""
        raise NotImplementedError

    def layer_choices(
        self, hp: kt.HyperParameters, held: SearchedValues | None = None
    ) -> LayerChoices:
        """How the hidden layers are built for the values in `hp` (or read from `held`)."""
        if held is None:
            regularizer = kernel_regularizer(space.l1(hp), space.l2(hp))
        else:
            regularizer = SearchedL1L2(held.reader(space.L1), held.reader(space.L2))
        if not self.full_space:
            return LayerChoices(kernel_regularizer=regularizer)
        return LayerChoices(
            kernel_regularizer=regularizer,
            activation=full.activation(hp),
            initializer=full.initializer(hp),
            batch_norm=full.batch_norm(hp),
            bias_l2=full.bias_l2(hp),
            activity_l1=full.activity_l1(hp),
        )

    def optimizer(self, hp: kt.HyperParameters) -> keras.optimizers.Optimizer:
        """Adam, or in the full space the searched optimizer (AdamW with its weight decay)."""
        if not self.full_space:
            return make_optimizer("adam", space.learning_rate(hp))
        name = full.optimizer(hp)
        return make_optimizer(name, space.learning_rate(hp), full.weight_decay(hp))

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """Build and compile the model for the hyperparameter values in `hp`."""
        set_precision(self.path.precision)
        held = self.searched_values(hp)
        layers = self.layer_choices(hp, held)
        factor = space.augment_factor(hp)
        model = keras.Sequential(
            [
                keras.Input(shape=self.input_shape),
                *([] if held is None else [held]),
                # With the input pipeline, augmentation happens there (see `fit`).
                *([] if self.path.input_pipeline else augmentation_layers(factor)),
                keras.layers.Rescaling(1.0 / 255),
                *self.feature_layers(hp, layers),
                *layers.hidden(keras.layers.Dense, HIDDEN_UNITS),
                self.dropout(hp, held),
                layers.output(self.num_classes),
            ],
            name=self.name,
        )
        model.compile(
            optimizer=self.optimizer(hp),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=self.path.jit_compile,
        )
        return model

    def searched_values(self, hp: kt.HyperParameters) -> SearchedValues | None:
        """The layer holding dropout and L1/L2 as variables, where the path asks for it."""
        if not self.path.searched_inputs:
            return None
        values = {space.DROPOUT: space.dropout(hp), space.L1: space.l1(hp), space.L2: space.l2(hp)}
        return SearchedValues(values)

    def dropout(self, hp: kt.HyperParameters, held: SearchedValues | None) -> keras.layers.Layer:
        """Dropout at the searched rate: a constant, or read from `held`."""
        if held is None:
            return keras.layers.Dropout(space.dropout(hp))
        return SearchedDropout(held.reader(space.DROPOUT))

    @contextlib.contextmanager
    def keras_layers_only(self) -> Iterator[None]:
        """Within the block, build the network with Keras's own layers: a file for Keras alone.

        Such a model loads this network's checkpoints: `SearchedValues`'s are skipped.
        """
        path = self.path
        self.path = dataclasses.replace(path, searched_inputs=False)
        try:
            yield
        finally:
            self.path = path

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs):
        """Train with the searched batch size (and in the full space the searched schedule).

        Everything else, callbacks and epochs included, comes from the tuner.
        """
        if self.full_space and full.lr_schedule(hp) == "cosine":
            # A new list: the tuner's callbacks stay as they are for the next execution.
            callbacks = kwargs.get("callbacks") or []
            epochs = kwargs.get("epochs", 1)
            kwargs["callbacks"] = cosine_callbacks(callbacks, space.learning_rate(hp), epochs)
        if not self.path.input_pipeline:
            return model.fit(*args, batch_size=space.batch_size(hp), **kwargs)
        return model.fit(*self.datasets(hp, *args, kwargs), **kwargs)

    def datasets(self, hp: kt.HyperParameters, x, y, kwargs: dict) -> tuple:
        """The fast path's training input for the searched batch size and augmentation."""
        batch_size, factor = space.batch_size(hp), space.augment_factor(hp)
        return pipeline_inputs(x, y, batch_size, factor, kwargs, self.path.epoch_seeds)


def pipeline_inputs(
    x, y, batch_size: int, factor: float, kwargs: dict, epoch_seeds: bool = True
) -> tuple:
    """The fast path's training input, shuffled and augmented outside the model.

    One fused random affine transform per batch, instead of three augmentation layers in
    the model: three resamplings become one, and the model keeps only what trains. On
    TensorFlow a tf.data pipeline prepares it (measured with less CPU time per image than
    the same batches through Keras's PyDataset, docs/speed.md); on other backends
    `ShuffledBatches` does. `kwargs` (fit's) gets the validation data batched to match.

    Each epoch's batches follow from (seed, epoch): a fit from `initial_epoch` k on (a
    resumed trial) sees what an uninterrupted one saw from epoch k on; without
    `epoch_seeds` (searches saved before), tf.data's order follows the epochs it served.
    """
    # Drawn from the trial's seeded generator: a resumed trial sees the same batches.
    seed = int(np.random.randint(2**31 - 1))
    kwargs["shuffle"] = False  # the batches come shuffled; Keras would only warn
    first = kwargs.get("initial_epoch", 0)
    if keras.backend.backend() != "tensorflow":
        transform = compiled(fused_affine)
        augment = partial(random_affine, factor=factor, transform=transform)
        kwargs["validation_batch_size"] = batch_size
        return (ShuffledBatches(x, y, batch_size, seed, augment if factor else None, first),)
    kwargs["validation_data"] = eval_dataset(*kwargs["validation_data"], batch_size)
    augment = partial(random_affine, factor=factor) if factor else None
    if epoch_seeds:
        epochs = range(first, kwargs.get("epochs", 1))
        kwargs["steps_per_epoch"] = steps(len(x), batch_size)
        return (epoch_batches(x, y, batch_size, seed, epochs, augment),)
    train = train_dataset(x, y, batch_size, seed)
    return (train if augment is None else augment_batches(train, augment, seed),)
