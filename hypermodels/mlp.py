"""The course's baseline: one hidden layer of 800 ReLUs on the flattened image."""

from __future__ import annotations

import keras

from hypermodels.base import ImageClassifier


class MLP(ImageClassifier):
    """Flatten-Dense(800)-Dropout-softmax."""

    def feature_layers(
        self, regularizer: keras.regularizers.Regularizer | None
    ) -> list[keras.layers.Layer]:
        """Just flatten: the dense head is the whole network."""
        return [keras.layers.Flatten()]
