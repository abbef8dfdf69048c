"""The search spaces: each hyperparameter declared once, and what derives from the declarations.

`card` is the pipeline's original space of six names; `full` adds the names of
`hypermodels.full`. Each name's `Hyperparameter` holds its range, its `--set` limits, its
course value and its "off" value; the name lists, `COURSE_VALUES` and the ablation's variants
are read from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from hypermodels import full
from hypermodels.hyperparameter import (
    COURSE_DATASETS,
    Hyperparameter,
    PinError,
    PinLimit,
    Value,
)

if TYPE_CHECKING:  # imported where used: the command line reads this module without Keras
    import keras_tuner as kt

SPACES = ("card", "full")
REGULARIZER_STRENGTHS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)
BATCH_SIZES = (32, 64, 128, 256, 512)


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


# The card space, in CSV column order. The course's values come from its best model per
# dataset (augmentation factor found by its search, the rest fixed by hand): a warm-started
# search trains it first. The techniques' "off" values make the ablation's variants.
CARD_HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Hyperparameter(
        AUGMENT_FACTOR,
        augment_factor,
        # 0 switches augmentation off; RandomZoom rejects factors of 1 and more.
        PinLimit(float, 0.0, 1.0, high_open=True),
        course={"mnist": 0.04, "fashion-mnist": 0.01},
        off=0.0,
        technique="augmentation",
    ),
    Hyperparameter(
        DROPOUT,
        dropout,
        PinLimit(float, 0.0, 1.0, high_open=True),
        course=0.5,
        off=0.0,
        technique="dropout",
    ),
    Hyperparameter(L1, l1, PinLimit(float, 0.0), course=0.0, off=0.0, technique="l1"),
    Hyperparameter(L2, l2, PinLimit(float, 0.0), course=0.0, off=0.0, technique="l2"),
    Hyperparameter(
        LEARNING_RATE,
        learning_rate,
        PinLimit(float, 0.0, low_open=True),
        course={"mnist": 0.00168, "fashion-mnist": 0.00015},
    ),
    Hyperparameter(BATCH_SIZE, batch_size, PinLimit(int, 1), course=256),
)
# Every name of every space, card names first, as the full space's CSV columns run.
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.name: h for h in CARD_HYPERPARAMETERS + full.HYPERPARAMETERS
}

DECLARATIONS: dict[str, Callable[[kt.HyperParameters], Value]] = {
    h.name: h.declare for h in CARD_HYPERPARAMETERS
}
NAMES: tuple[str, ...] = tuple(DECLARATIONS)
FULL_NAMES: tuple[str, ...] = tuple(full.DECLARATIONS)
ALL_NAMES: tuple[str, ...] = NAMES + FULL_NAMES


def course_values(dataset: str) -> dict[str, Value]:
    """The card names' course values for a built-in dataset ("mnist" or "fashion-mnist").

    The full space's names are left out: a warm start keeps their defaults, which are the
    course's own choices.

    Raises:
        ValueError: `dataset` is not one of the course's datasets.
    """
    return {h.name: h.course_value(dataset) for h in CARD_HYPERPARAMETERS}


COURSE_VALUES: dict[str, dict[str, Value]] = {d: course_values(d) for d in COURSE_DATASETS}


def off_values() -> dict[str, Value]:
    """Each name that a value switches off, and that value (0 for every technique today)."""
    return {name: h.off for name, h in HYPERPARAMETERS.items() if h.off is not None}


def ablation_variants() -> dict[str, tuple[str, ...]]:
    """Each ablation variant and the names it switches off: `best`, one per technique, `all_off`.

    The variant names label the rows of published ablation.csv files: keep them stable.
    """
    techniques: dict[str, tuple[str, ...]] = {}  # a technique may span several names
    for name, h in HYPERPARAMETERS.items():
        if h.technique is not None:
            techniques[h.technique] = (*techniques.get(h.technique, ()), name)
    per_technique = {f"no_{technique}": off for technique, off in techniques.items()}
    every = tuple(name for off in techniques.values() for name in off)
    return {"best": (), **per_technique, "all_off": every}


ABLATION_VARIANTS: dict[str, tuple[str, ...]] = ablation_variants()


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
