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
# The course's images, the networks' default input: 28x28 grayscale, 10 classes.
COURSE_INPUT = (28, 28, 1)
COURSE_CLASSES = 10
# The smallest image side each network takes: the cnn's two 3x3 convolutions, each followed
# by a 2x2 max-pooling, leave nothing of an image under 10 pixels.
MIN_SIDE: dict[str, int] = {"cnn": 10, "mlp": 1}


def check_input(name: str, input_shape: tuple[int, ...]) -> None:
    """Refuse an image too small for the network's layers.

    Raises:
        ValueError: saying the smallest size the network takes.
    """
    height, width = input_shape[:2]
    if min(height, width) < MIN_SIDE[name]:
        raise ValueError(
            f"the {name} needs images of at least {MIN_SIDE[name]}x{MIN_SIDE[name]} pixels, "
            f"these are {height}x{width}: use --hypermodel mlp, or a larger --image-size"
        )


def hypermodel_class(name: str) -> type[ImageClassifier]:
    """The HyperModel class of a CLI name (`cnn` or `mlp`).

    Raises:
        KeyError: no HyperModel has that name.
    """
    module, _, attribute = NETWORKS[name].partition(":")
    return getattr(import_module(module), attribute)


def get_hypermodel(
    name: str,
    space: str = "card",
    path: TrainingPath = PLAIN,
    input_shape: tuple[int, ...] = COURSE_INPUT,
    num_classes: int = COURSE_CLASSES,
) -> ImageClassifier:
    """Return a fresh HyperModel by its CLI name (`cnn` or `mlp`) for a space, a path, a data shape.

    Raises:
        KeyError: no HyperModel has that name.
        ValueError: no search space has that name.
    """
    if space not in SPACES:
        raise ValueError(f"unknown search space {space!r} (known: {', '.join(SPACES)})")
    return hypermodel_class(name)(
        name=name, space=space, path=path, input_shape=input_shape, num_classes=num_classes
    )
