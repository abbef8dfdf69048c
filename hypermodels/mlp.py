"""The course's baseline: one hidden layer of 800 ReLUs on the flattened image."""

from __future__ import annotations

import keras
import keras_tuner as kt

from hypermodels.base import ImageClassifier
from hypermodels.choices import LayerChoices


class MLP(ImageClassifier):
    """Flatten-Dense(800)-Dropout-softmax.

    It has no convolution, so the full space's `filters` is not declared for it.
    """

    def feature_layers(
        self, hp: kt.HyperParameters, layers: LayerChoices
    ) -> list[keras.layers.Layer]:
        """Just flatten: the dense head is the whole network."""
        return [keras.layers.Flatten()]
