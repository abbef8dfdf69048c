"""The search spaces: each hyperparameter's name, range and the values `--set` may pin it to.

`card` is the pipeline's original space of six names; `full` adds the names of
`hypermodels.full`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PinLimit:
    """The values Keras accepts for a pinned hyperparameter, wider than the searched range."""

    kind: type
    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def admits(self, value: Value) -> bool:
        """Tell whether `value` lies inside the limit."""
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        """Render the limit as an interval, e.g. `[0, 1)`."""
        left = "(" if self.low_open else "["
        right = ")" if self.high_open or self.high == math.inf else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def parse(self, name: str, raw: str) -> Value:
        """The typed value of `raw`, checked against the limit.

        Raises:
            PinError: `raw` has the wrong type or lies outside the limit.
        """
        try:
            value = self.kind(raw)
        except ValueError:
            raise PinError(f"--set {name}: {raw!r} is not {self.kind.__name__}") from None
        if not math.isfinite(value) or not self.admits(value):
            raise PinError(f"--set {name}: {raw} is outside {self.describe()}")
        return value


@dataclass(frozen=True)
class PinChoice:
    """A categorical hyperparameter: a pin names one of its values, as Keras spells them."""

    values: tuple[str, ...]

    def parse(self, name: str, raw: str) -> str:
        """`raw` itself when it is one of the values.

        Raises:
            PinError: `raw` is none of them; the message lists them.
        """
        if raw not in self.values:
            raise PinError(f"--set {name}: {raw!r} is not one of {', '.join(self.values)}")
        return raw


@dataclass(frozen=True)
class PinSwitch:
    """An on/off hyperparameter, stored as a bool; a pin says on or off (or true/false, 1/0)."""

    words: tuple[tuple[str, bool], ...] = (
        ("on", True),
        ("off", False),
        ("true", True),
        ("false", False),
        ("1", True),
        ("0", False),
    )

    def parse(self, name: str, raw: str) -> bool:
        """True or False for one of the words, in any case.

        Raises:
            PinError: `raw` is none of the words.
        """
        value = dict(self.words).get(raw.lower())
        if value is None:
            allowed = ", ".join(word for word, _ in self.words)
            raise PinError(f"--set {name}: {raw!r} is not one of {allowed}")
        return value


PIN_LIMITS: dict[str, PinLimit | PinChoice | PinSwitch] = {
    # 0 switches augmentation off; RandomZoom rejects factors of 1 and more.
    AUGMENT_FACTOR: PinLimit(float, 0.0, 1.0, high_open=True),
    DROPOUT: PinLimit(float, 0.0, 1.0, high_open=True),
    L1: PinLimit(float, 0.0),
    L2: PinLimit(float, 0.0),
    LEARNING_RATE: PinLimit(float, 0.0, low_open=True),
    BATCH_SIZE: PinLimit(int, 1),
    # The full space's categorical names take only their searched values.
    full.ACTIVATION: PinChoice(full.ACTIVATIONS),
    full.INITIALIZER: PinChoice(full.INITIALIZERS),
    full.BATCH_NORM: PinSwitch(),
    full.OPTIMIZER: PinChoice(full.OPTIMIZERS),
    full.WEIGHT_DECAY: PinLimit(float, 0.0),
    full.BIAS_L2: PinLimit(float, 0.0),
    full.ACTIVITY_L1: PinLimit(float, 0.0),
    full.FILTERS: PinLimit(int, 1),
    full.LR_SCHEDULE: PinChoice(full.LR_SCHEDULES),
}


def parse_pin(text: str, space: str = "card", hypermodel: str = "cnn") -> tuple[str, Value]:
    """Parse one `NAME=VALUE` into a hyperparameter name and a typed, checked value.

    Raises:
        PinError: the name is not in `space` for `hypermodel`, or the value has the wrong type
            or lies outside what Keras accepts for it.
    """
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name or not raw:
        raise PinError(f"--set expects NAME=VALUE, got {text!r}")
    check_name(name, space, hypermodel)
    return name, PIN_LIMITS[name].parse(name, raw)


def check_name(name: str, space: str, hypermodel: str) -> None:
    """Refuse a name that `space` does not declare for `hypermodel`, saying why.

    Raises:
        PinError: the name is unknown, belongs to another space, or to another hypermodel.
    """
    known = names(space, hypermodel)
    if name in known:
        return
    if name not in ALL_NAMES:
        raise PinError(f"--set: unknown hyperparameter {name!r} (known: {', '.join(known)})")
    if name in full.ONLY_IN and space == "full":
        raise PinError(f"--set {name}: only the {full.ONLY_IN[name]} has it, not the {hypermodel}")
    raise PinError(f"--set {name}: only in the full search space (add --space full)")


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


def parse_pins(texts: list[str], space: str = "card", hypermodel: str = "cnn") -> dict[str, Value]:
    """Parse every `--set` argument; a name given twice, or a contradiction, is an error."""
    pins: dict[str, Value] = {}
    for text in texts:
        name, value = parse_pin(text, space, hypermodel)
        if name in pins:
            raise PinError(f"--set {name} given twice")
        pins[name] = value
    check_conditions(pins)
    return pins


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
