"""The search space: each hyperparameter's name, range and the values `--set` may pin it to."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import keras_tuner as kt

REGULARIZER_STRENGTHS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)
BATCH_SIZES = (32, 64, 128, 256, 512)

Value = int | float


class PinError(ValueError):
    """A `--set NAME=VALUE` that names no hyperparameter or gives an unusable value."""


def augment_factor(hp: kt.HyperParameters) -> float:
    """Strength of random rotation, translation and zoom (0 switches augmentation off)."""
    return hp.Float("augment_factor", 0.01, 0.3, sampling="log")


def dropout(hp: kt.HyperParameters) -> float:
    """Dropout rate before the output layer."""
    return hp.Float("dropout", 0.0, 0.5, step=0.1)


def l1(hp: kt.HyperParameters) -> float:
    """L1 penalty on every kernel (0 is off)."""
    return hp.Choice("l1", REGULARIZER_STRENGTHS)


def l2(hp: kt.HyperParameters) -> float:
    """L2 penalty on every kernel (0 is off)."""
    return hp.Choice("l2", REGULARIZER_STRENGTHS)


def learning_rate(hp: kt.HyperParameters) -> float:
    """Initial Adam learning rate."""
    return hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")


def batch_size(hp: kt.HyperParameters) -> int:
    """Mini-batch size, a training knob applied in `HyperModel.fit`."""
    return hp.Choice("batch_size", BATCH_SIZES)


DECLARATIONS: tuple[Callable[[kt.HyperParameters], Value], ...] = (
    augment_factor,
    dropout,
    l1,
    l2,
    learning_rate,
    batch_size,
)
NAMES: tuple[str, ...] = tuple(declare.__name__ for declare in DECLARATIONS)


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


PIN_LIMITS: dict[str, PinLimit] = {
    # 0 switches augmentation off; RandomZoom rejects factors of 1 and more.
    "augment_factor": PinLimit(float, 0.0, 1.0, high_open=True),
    "dropout": PinLimit(float, 0.0, 1.0, high_open=True),
    "l1": PinLimit(float, 0.0),
    "l2": PinLimit(float, 0.0),
    "learning_rate": PinLimit(float, 0.0, low_open=True),
    "batch_size": PinLimit(int, 1),
}


def parse_pin(text: str) -> tuple[str, Value]:
    """Parse one `NAME=VALUE` into a hyperparameter name and a typed, checked value.

    Raises:
        PinError: the name is unknown or the value has the wrong type or lies outside what
            Keras accepts for it.
    """
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name or not raw:
        raise PinError(f"--set expects NAME=VALUE, got {text!r}")
    if name not in PIN_LIMITS:
        raise PinError(f"--set: unknown hyperparameter {name!r} (known: {', '.join(NAMES)})")
    limit = PIN_LIMITS[name]
    try:
        value = limit.kind(raw)
    except ValueError:
        raise PinError(f"--set {name}: {raw!r} is not {limit.kind.__name__}") from None
    if not math.isfinite(value) or not limit.admits(value):
        raise PinError(f"--set {name}: {raw} is outside {limit.describe()}")
    return name, value


def parse_pins(texts: list[str]) -> dict[str, Value]:
    """Parse every `--set` argument; a name given twice is an error."""
    pins: dict[str, Value] = {}
    for text in texts:
        name, value = parse_pin(text)
        if name in pins:
            raise PinError(f"--set {name} given twice")
        pins[name] = value
    return pins


def search_space(pins: Mapping[str, Value] | None = None) -> kt.HyperParameters:
    """Declare the whole space, with pinned names as `Fixed` so the oracle never varies them."""
    pins = dict(pins or {})
    hp = kt.HyperParameters()
    for declare in DECLARATIONS:
        name = declare.__name__
        if name in pins:
            hp.Fixed(name, pins.pop(name))
        else:
            declare(hp)
    if pins:
        raise PinError(f"unknown hyperparameters: {', '.join(sorted(pins))}")
    return hp
