"""`--set NAME=VALUE`: a pin's name checked against the space, its value against what Keras takes.

The same rules read the `[set]` table of a `--config` file (`tuning.cli.configfile`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypermodels import full
from hypermodels.space import (
    ALL_NAMES,
    AUGMENT_FACTOR,
    BATCH_SIZE,
    DROPOUT,
    L1,
    L2,
    LEARNING_RATE,
    PinError,
    Value,
    check_conditions,
    names,
)


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
