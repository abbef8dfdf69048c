"""The course experiment's network: two Conv2D-MaxPooling pairs (64 and 128 filters)."""

from __future__ import annotations

import keras
import keras_tuner as kt

from hypermodels import full
from hypermodels.base import ImageClassifier
from hypermodels.choices import LayerChoices

COURSE_FILTERS = 64


class CNN(ImageClassifier):
    """Conv2D(64)-MaxPool-Conv2D(128)-MaxPool-Dense(800)-Dropout-softmax.

    In the full space the first convolution has `filters` filters and the second twice that.
    """

    def feature_layers(
        self, hp: kt.HyperParameters, layers: LayerChoices
    ) -> list[keras.layers.Layer]:
        """Two 3x3 convolution and 2x2 max-pooling pairs, then flatten."""
        filters = full.filters(hp) if self.full_space else COURSE_FILTERS
        return [
            *layers.hidden(keras.layers.Conv2D, filters, (3, 3)),
            keras.layers.MaxPooling2D((2, 2)),
            *layers.hidden(keras.layers.Conv2D, 2 * filters, (3, 3)),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Flatten(),
        ]
