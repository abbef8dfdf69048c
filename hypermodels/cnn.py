"""The course experiment's network: two Conv2D-MaxPooling pairs (64 and 128 filters)."""

from __future__ import annotations

import keras

from hypermodels.base import ImageClassifier


class CNN(ImageClassifier):
    """Conv2D(64)-MaxPool-Conv2D(128)-MaxPool-Dense(800)-Dropout-softmax."""

    def feature_layers(
        self, regularizer: keras.regularizers.Regularizer | None
    ) -> list[keras.layers.Layer]:
        """Two 3x3 convolution and 2x2 max-pooling pairs, then flatten."""
        return [
            keras.layers.Conv2D(64, (3, 3), activation="relu", kernel_regularizer=regularizer),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(128, (3, 3), activation="relu", kernel_regularizer=regularizer),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Flatten(),
        ]
