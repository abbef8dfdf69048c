"""KerasTuner HyperModels and their search space; they declare, the tuner decides values.

Light to import: the networks, which load Keras (and its backend), are imported when one is
asked for, so the command line can answer `--help` and refuse bad input without them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from hypermodels.space import SPACES
from hypermodels.training import PLAIN, TrainingPath

if TYPE_CHECKING:
    from hypermodels.base import ImageClassifier

# Each network's CLI name and where its class lives.
NETWORKS: dict[str, str] = {"cnn": "hypermodels.cnn:CNN", "mlp": "hypermodels.mlp:MLP"}


def hypermodel_class(name: str) -> type[ImageClassifier]:
    """The HyperModel class of a CLI name (`cnn` or `mlp`).

    Raises:
        KeyError: no HyperModel has that name.
    """
    module, _, attribute = NETWORKS[name].partition(":")
    return getattr(import_module(module), attribute)


def get_hypermodel(name: str, space: str = "card", path: TrainingPath = PLAIN) -> ImageClassifier:
    """Return a fresh HyperModel by its CLI name (`cnn` or `mlp`) for a space and a path.

    Raises:
        KeyError: no HyperModel has that name.
        ValueError: no search space has that name.
    """
    if space not in SPACES:
        raise ValueError(f"unknown search space {space!r} (known: {', '.join(SPACES)})")
    return hypermodel_class(name)(name=name, space=space, path=path)
