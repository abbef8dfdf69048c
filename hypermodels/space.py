"""The search spaces: each hyperparameter's name and range, and the course's values.

`card` is the pipeline's original space of six names; `full` adds the names of
`hypermodels.full`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from hypermodels import full

if TYPE_CHECKING:  # imported where used: the command line reads this module without Keras
    import keras_tuner as kt

SPACES = ("card", "full")
REGULARIZER_STRENGTHS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)
BATCH_SIZES = (32, 64, 128, 256, 512)

Value = int | float | str | bool


class PinError(ValueError):
    """A `--set NAME=VALUE` that names no hyperparameter or gives an unusable value."""


# Each hyperparameter's name: its CSV column and the key a saved search resumes by.
AUGMENT_FACTOR = "augment_factor"
DROPOUT = "dropout"
L1 = "l1"
L2 = "l2"
LEARNING_RATE = "learning_rate"
BATCH_SIZE = "batch_size"


# The card ranges hold both datasets' course values well inside (COURSE_VALUES below), so a
# search the warm start wins can still look past them, and reports no edge.
def augment_factor(hp: kt.HyperParameters) -> float:
    """Strength of random rotation, translation and zoom (0 switches augmentation off)."""
    return hp.Float(AUGMENT_FACTOR, 0.002, 0.3, sampling="log")


def dropout(hp: kt.HyperParameters) -> float:
    """Dropout rate before the output layer."""
    return hp.Float(DROPOUT, 0.0, 0.7, step=0.1)


def l1(hp: kt.HyperParameters) -> float:
    """L1 penalty on every kernel (0 is off)."""
    return hp.Choice(L1, REGULARIZER_STRENGTHS)


def l2(hp: kt.HyperParameters) -> float:
    """L2 penalty on every kernel (0 is off)."""
    return hp.Choice(L2, REGULARIZER_STRENGTHS)


def learning_rate(hp: kt.HyperParameters) -> float:
    """Initial learning rate of the optimizer (Adam in the card space)."""
    return hp.Float(LEARNING_RATE, 2e-5, 1e-2, sampling="log")


def batch_size(hp: kt.HyperParameters) -> int:
    """Mini-batch size, a training knob applied in `HyperModel.fit`."""
    return hp.Choice(BATCH_SIZE, BATCH_SIZES)


DECLARATIONS: dict[str, Callable[[kt.HyperParameters], Value]] = {
    AUGMENT_FACTOR: augment_factor,
    DROPOUT: dropout,
    L1: l1,
    L2: l2,
    LEARNING_RATE: learning_rate,
    BATCH_SIZE: batch_size,
}
NAMES: tuple[str, ...] = tuple(DECLARATIONS)

# The course experiment's best model per dataset (augmentation factor found by its search,
# the rest fixed by hand): a warm-started search trains this first. The full space's names
# keep their defaults, which are the course's own choices.
COURSE_VALUES: dict[str, dict[str, Value]] = {
    "mnist": {
        AUGMENT_FACTOR: 0.04,
        DROPOUT: 0.5,
        L1: 0.0,
        L2: 0.0,
        LEARNING_RATE: 0.00168,
        BATCH_SIZE: 256,
    },
    "fashion-mnist": {
        AUGMENT_FACTOR: 0.01,
        DROPOUT: 0.5,
        L1: 0.0,
        L2: 0.0,
        LEARNING_RATE: 0.00015,
        BATCH_SIZE: 256,
    },
}
FULL_NAMES: tuple[str, ...] = tuple(full.DECLARATIONS)
ALL_NAMES: tuple[str, ...] = NAMES + FULL_NAMES


def declarations(
    space: str = "card", hypermodel: str = "cnn"
) -> dict[str, Callable[[kt.HyperParameters], Value]]:
    """The declaration function of each name of `space` that `hypermodel` reads, in CSV order."""
    if space == "card":
        return DECLARATIONS
    if space != "full":
        raise ValueError(f"unknown search space {space!r} (known: {', '.join(SPACES)})")
    extra = {
        name: declare
        for name, declare in full.DECLARATIONS.items()
        if full.ONLY_IN.get(name, hypermodel) == hypermodel
    }
    return {**DECLARATIONS, **extra}


def names(space: str = "card", hypermodel: str = "cnn") -> tuple[str, ...]:
    """The hyperparameter names of `space` for `hypermodel`, in CSV column order."""
    return tuple(declarations(space, hypermodel))


def check_conditions(pins: Mapping[str, Value]) -> None:
    """Refuse a pinned conditional name whose parent is pinned to a value that disables it.

    Raises:
        PinError: e.g. weight_decay pinned while optimizer is pinned to adam.
    """
    for name, condition in full.CONDITIONS.items():
        parent, allowed = condition["parent_name"], condition["parent_values"]
        if name in pins and parent in pins and pins[parent] not in allowed:
            raise PinError(
                f"--set {name}: applies only with {parent}={' or '.join(allowed)}, "
                f"but {parent} is pinned to {pins[parent]}"
            )


def search_space(
    pins: Mapping[str, Value] | None = None, space: str = "card", hypermodel: str = "cnn"
) -> kt.HyperParameters:
    """Declare the whole space, with pinned names as `Fixed` so the oracle never varies them.

    A pinned conditional name stays conditional: its `Fixed` value applies only where its
    parent's value activates it.
    """
    import keras_tuner as kt

    pins = dict(pins or {})
    check_conditions(pins)
    hp = kt.HyperParameters()
    for name, declare in declarations(space, hypermodel).items():
        if name in pins:
            hp.Fixed(name, pins.pop(name), **full.CONDITIONS.get(name, {}))
        else:
            declare(hp)
    if pins:
        raise PinError(f"unknown hyperparameters: {', '.join(sorted(pins))}")
    return hp


def start_values(hp: kt.HyperParameters, known: Mapping[str, Value]) -> dict[str, Value]:
    """Values for every active name of `hp`: `known` where given, else the default.

    A `Fixed` (pinned) name keeps its pin, and a conditional name gets a value only where
    its parent's value activates it, as KerasTuner's own oracles fill a trial.
    """
    import keras_tuner as kt

    filled = kt.HyperParameters()
    for declared in hp.space:
        filled.merge([declared])
        if not filled.is_active(declared):
            continue
        if isinstance(declared, kt.engine.hyperparameters.Fixed):
            filled.values[declared.name] = declared.value
        else:
            filled.values[declared.name] = known.get(declared.name, declared.default)
    return filled.values
