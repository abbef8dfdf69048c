"""What the course's image classifiers share: augmentation, rescaling, regularized head, Adam."""

from __future__ import annotations

import keras
import keras_tuner as kt

from hypermodels import space

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
HIDDEN_UNITS = 800


def augmentation(factor: float) -> list[keras.layers.Layer]:
    """Random rotation, translation and zoom, each with `factor`; none when it is 0."""
    if factor == 0:
        return []
    return [
        keras.layers.RandomRotation(factor, fill_mode="nearest"),
        keras.layers.RandomTranslation(factor, factor, fill_mode="nearest"),
        keras.layers.RandomZoom(factor, fill_mode="nearest"),
    ]


def kernel_regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    """Elastic net `L1L2(l1, l2)`, or None when both are 0 so no zero penalty is computed."""
    return keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None


class ImageClassifier(kt.HyperModel):
    """A 28x28 grayscale, 10-class classifier; subclasses supply the feature extractor."""

    def feature_layers(
        self, regularizer: keras.regularizers.Regularizer | None
    ) -> list[keras.layers.Layer]:
        """Layers between rescaling and the dense head, ending in a flat vector."""
        raise NotImplementedError

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """Build and compile the model for the hyperparameter values in `hp`."""
        regularizer = kernel_regularizer(space.l1(hp), space.l2(hp))
        model = keras.Sequential(
            [
                keras.Input(shape=INPUT_SHAPE),
                *augmentation(space.augment_factor(hp)),
                keras.layers.Rescaling(1.0 / 255),
                *self.feature_layers(regularizer),
                keras.layers.Dense(HIDDEN_UNITS, activation="relu", kernel_regularizer=regularizer),
                keras.layers.Dropout(space.dropout(hp)),
                keras.layers.Dense(
                    NUM_CLASSES, activation="softmax", kernel_regularizer=regularizer
                ),
            ],
            name=self.name,
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=space.learning_rate(hp)),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs):
        """Train with the searched batch size; everything else comes from the tuner."""
        return model.fit(*args, batch_size=space.batch_size(hp), **kwargs)
