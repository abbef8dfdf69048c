"""KerasTuner HyperModels and their search space; they declare, the tuner decides values."""

from __future__ import annotations

from hypermodels.base import ImageClassifier
from hypermodels.cnn import CNN
from hypermodels.mlp import MLP
from hypermodels.space import SPACES
from hypermodels.training import PLAIN, TrainingPath

HYPERMODELS: dict[str, type[ImageClassifier]] = {"cnn": CNN, "mlp": MLP}


def get_hypermodel(name: str, space: str = "card", path: TrainingPath = PLAIN) -> ImageClassifier:
    """Return a fresh HyperModel by its CLI name (`cnn` or `mlp`) for a space and a path.

    Raises:
        KeyError: no HyperModel has that name.
        ValueError: no search space has that name.
    """
    if space not in SPACES:
        raise ValueError(f"unknown search space {space!r} (known: {', '.join(SPACES)})")
    return HYPERMODELS[name](name=name, space=space, path=path)
