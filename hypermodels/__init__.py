"""KerasTuner HyperModels and their search space; they declare, the tuner decides values.

Light to import: the networks, which load Keras (and its backend), are imported when one is
asked for, so the command line can answer `--help` and refuse bad input without them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from hypermodels import user
from hypermodels.space import SPACES
from hypermodels.training import PLAIN, TrainingPath

if TYPE_CHECKING:
    import keras_tuner as kt

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
    if min(height, width) < MIN_SIDE.get(name, 1):
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
    model: str | None = None,
) -> kt.HyperModel:
    """A fresh HyperModel: a built-in network by its name (`cnn`, `mlp`), a user's.

    `model` names a user's model function (`--model`), searched over the card space;
    a `name` other than a built-in one names a user's HyperModel (`--hypermodel`).

    Raises:
        KeyError: no built-in network has that name and it names no user code.
        ValueError: no search space has that name, or the user's code cannot be loaded.
    """
    if space not in SPACES:
        raise ValueError(f"unknown search space {space!r} (known: {', '.join(SPACES)})")
    shape = {"input_shape": input_shape, "num_classes": num_classes}
    if name in NETWORKS and model is None:
        return hypermodel_class(name)(name=name, space=space, path=path, **shape)
    spec = model or name
    if not user.is_spec(spec):
        raise KeyError(name)
    from hypermodels.foreign import ForeignHyperModel, Unavailable
    from hypermodels.own import OwnModel

    if user.in_this_process_only(spec) and spec not in user.REGISTERED:
        # A notebook's object in another session: the saved files still read, nothing builds.
        return Unavailable(spec)
    if model is not None:
        return OwnModel(user.load(model)[0], model, name="model", space=space, path=path, **shape)
    return ForeignHyperModel(user.load(name)[0], name, path=path)
