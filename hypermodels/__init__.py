"""KerasTuner HyperModels and their search space; they declare, the tuner decides values."""

from __future__ import annotations

from hypermodels.base import ImageClassifier
from hypermodels.cnn import CNN
from hypermodels.mlp import MLP

HYPERMODELS: dict[str, type[ImageClassifier]] = {"cnn": CNN, "mlp": MLP}


def get_hypermodel(name: str) -> ImageClassifier:
    """Return a fresh HyperModel by its CLI name (`cnn` or `mlp`).

    Raises:
        KeyError: no HyperModel has that name.
    """
    return HYPERMODELS[name](name=name)
