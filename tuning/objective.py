"""The objective of a search: the metric the trials are ranked by, and which way is better.

`--objective val_loss` names a metric Keras logs (`val_` for the validation set's) and the
direction comes from its name, as KerasTuner infers it (`val_accuracy`, `val_auc`: higher is
better; `val_loss`, `val_mae`: lower is better). `--objective val_f1:max` says it outright,
for a metric whose name tells neither (issue 25).

Every rule that compares scores (the stopping rules, the ranking, the plots' best-so-far)
works on *oriented* scores, higher always better: `sign * value`. The CSVs and the page show
the values as Keras logged them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT = "val_accuracy"
DIRECTIONS = ("max", "min")
# What the built-in networks compile and log: they can be ranked by nothing else.
BUILT_IN_METRICS = {"accuracy": "max", "loss": "min"}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Objective:
    """A metric's name and whether higher (`max`) or lower (`min`) is better."""

    name: str = DEFAULT
    direction: str = "max"

    @property
    def sign(self) -> int:
        """+1 where higher is better, -1 where lower is: `sign * value` is an oriented score."""
        return 1 if self.direction == "max" else -1

    @property
    def trails(self) -> str:
        """The word for a score on the worse side of another: below (max) or above (min)."""
        return "below" if self.direction == "max" else "above"

    def oriented(self, values: Iterable[float]) -> tuple[float, ...]:
        """The values as oriented scores, higher better, whatever the direction."""
        return tuple(self.sign * float(v) for v in values)

    def best(self, values: Sequence[float]) -> float:
        """The best of `values`."""
        return max(values) if self.direction == "max" else min(values)

    def best_epoch(self, values: Sequence[float]) -> int | None:
        """The 1-based position of the best of `values` (the first, on a tie); None if empty."""
        if not values:
            return None
        oriented = self.oriented(values)
        return oriented.index(max(oriented)) + 1

    def spec(self) -> str:
        """The objective as `--objective` takes it: `NAME:DIRECTION`."""
        return f"{self.name}:{self.direction}"


# The course's objective, and every search's saved before it had a choice.
VAL_ACCURACY = Objective()


def parse(text: str) -> tuple[str, str | None]:
    """`NAME` or `NAME:max|min` as (name, direction or None).

    Raises:
        ValueError: not a metric name, or a direction other than max and min.
    """
    name, _, direction = text.partition(":")
    if not NAME.fullmatch(name):
        raise ValueError(
            f"{text!r} is no metric name; give one Keras logs, such as val_accuracy or val_loss"
        )
    if direction and direction not in DIRECTIONS:
        raise ValueError(f"{text!r}: the direction after ':' is max or min, not {direction!r}")
    return name, direction or None


def built_in(text: str) -> Objective:
    """The objective of a search of a built-in network, which logs accuracy and loss only.

    Raises:
        ValueError: a metric the built-in networks do not log.
    """
    name, direction = parse(text)
    metric = name.removeprefix("val_")
    if metric not in BUILT_IN_METRICS:
        logged = ", ".join(f"{p}{m}" for p in ("val_", "") for m in BUILT_IN_METRICS)
        raise ValueError(
            f"{name}: the built-in networks log {logged} only; give one of them, or a "
            "--hypermodel of your own that compiles this metric"
        )
    return Objective(name, direction or BUILT_IN_METRICS[metric])
