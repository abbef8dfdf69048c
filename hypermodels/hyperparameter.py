"""One hyperparameter's whole declaration: its range, its `--set` limits, its course and off values.

`hypermodels.space` and `hypermodels.full` list one `Hyperparameter` per name; the name lists,
the course's values, the ablation's variants and `--set`'s checks are all read from them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line reads this module without Keras
    import keras_tuner as kt

Value = int | float | str | bool

# The built-in datasets the course trained on; a per-dataset course value names exactly these.
COURSE_DATASETS = ("mnist", "fashion-mnist")


class PinError(ValueError):
    """A `--set NAME=VALUE` that names no hyperparameter or gives an unusable value."""


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


Limit = PinLimit | PinChoice | PinSwitch


@dataclass(frozen=True)
class Hyperparameter:
    """A hyperparameter, declared once: everything the pipeline knows about one name.

    Attributes:
        name: the CSV column and the key a saved search resumes by.
        declare: declares the name's range on a `kt.HyperParameters` and returns its value.
        limit: what `--set` accepts, as Keras takes it (wider than the searched range).
        course: the course's value, or one per built-in dataset where the two differ.
        off: the value that switches the name's technique off; None where nothing does.
        technique: the ablation variant's noun (`no_<technique>`); needs `off`.
        condition: KerasTuner's `parent_name`/`parent_values`: active only under that parent.
        only_in: the one hypermodel that reads the name; None for every hypermodel.
    """

    name: str
    declare: Callable[[kt.HyperParameters], Value | None]
    # Required, with no default: a name cannot be declared without what `--set` accepts.
    limit: Limit
    course: Value | Mapping[str, Value]
    off: Value | None = None
    technique: str | None = None
    condition: Mapping[str, object] | None = None
    only_in: str | None = None

    def __post_init__(self) -> None:
        # Refused here, at import, rather than at the first `--set` or ablation that reads it.
        if not isinstance(self.limit, Limit):
            raise TypeError(f"{self.name}: limit must be a PinLimit, PinChoice or PinSwitch")
        if self.technique is not None and self.off is None:
            raise ValueError(f"{self.name}: technique {self.technique!r} needs an off value")
        if isinstance(self.course, Mapping) and set(self.course) != set(COURSE_DATASETS):
            raise ValueError(f"{self.name}: course values must name {', '.join(COURSE_DATASETS)}")

    def course_value(self, dataset: str) -> Value:
        """The course's value of this name for a built-in dataset.

        Raises:
            ValueError: `dataset` is not one of the course's datasets.
        """
        if dataset not in COURSE_DATASETS:
            raise ValueError(
                f"no course values for dataset {dataset!r} (known: {', '.join(COURSE_DATASETS)})"
            )
        return self.course[dataset] if isinstance(self.course, Mapping) else self.course
