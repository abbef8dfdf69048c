"""How a setting is declared: its default, its option's help, type and choices, its resume rule.

`tuning.config.TuneConfig` declares each of `tune`'s settings once, with `setting(...)`; the
command line (`tuning.cli.options`), the config file (`tuning.cli.configfile`), the notebook's
keywords (`tuning.api.notebook`) and the resume check (`tuning.store.resume`) are derived from
those declarations. The value types here raise argparse's error, so the command line shows
their message as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import numbers
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuning.errors import TuningError

# "45m", "2h", "1h30m", "90s" or plain seconds ("3600").
DURATION = re.compile(r"(\d+(?:\.\d+)?)([hms])")
UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
NOT_SAVED = object()  # a setting that every saved search has had from the start


@dataclass(frozen=True)
class Option:
    """A setting's command-line option (and config-file key): `--max-trials` for max_trials.

    `help` may use argparse's `%(default)s`. A `switch` is given without a value (`--quiet`);
    a `negatable` switch also has its `--no-` form.
    """

    help: str
    type: Callable[[str], Any] | None = None
    choices: tuple | None = None
    metavar: str | None = None
    switch: bool = False
    negatable: bool = False


def setting(
    default: Any = dataclasses.MISSING,
    option: Option | None = None,
    *,
    search: bool = False,
    saved_before: Any = NOT_SAVED,
    default_factory: Callable[[], Any] | None = None,
) -> Any:
    """A TuneConfig field with its option and its resume rule.

    Args:
        default: the value when neither the command line nor a config file sets it.
        option: how the command line and a config file set it; None: only code sets it.
        search: whether it decides which trials the search runs, so a resume must match it.
        saved_before: its value in searches saved before it existed.
        default_factory: for a mutable default.
    """
    metadata = {"option": option, "search": search, "saved_before": saved_before}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def option_name(setting_name: str) -> str:
    """A setting's long option without dashes, also its config-file key: `max-trials`."""
    return setting_name.replace("_", "-")


@dataclass(frozen=True)
class IntegerRange:
    """A value type: an integer from `low` up to `high` (no upper limit when None)."""

    low: int
    high: int | None = None

    def __call__(self, text: str) -> int:
        """The integer in `text`, or argparse's error saying why not."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if self.high is None and value < self.low:
            raise argparse.ArgumentTypeError(f"must be {self.low} or more, got {value}")
        if self.high is not None and not self.low <= value <= self.high:
            raise argparse.ArgumentTypeError(
                f"must be between {self.low} and {self.high}, got {value}"
            )
        return value


positive_int = IntegerRange(1)
seed_int = IntegerRange(0, 2**31 - 1)  # what numpy's and Keras's seeding accept


def image_size(text: str) -> list[int]:
    """A value type: an image size `H` (square) or `HxW`, in pixels, as [H, W]."""
    parts = text.lower().split("x")
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 32 or 64x48")
    return sizes * 2 if len(sizes) == 1 else sizes


def parse_duration(text: str, zero: bool = False) -> float:
    """Seconds in `text`: `45m`, `2h`, `1h30m`, `90s` or a plain number of seconds.

    Raises:
        ValueError: `text` is none of these, or not above 0 (below 0 where `zero` is allowed).
    """
    text = text.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        parts = DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{text!r} is not a duration such as 45m, 2h, 1h30m or 3600") from None
        seconds = sum(float(n) * UNIT_SECONDS[u] for n, u in parts)
    if not (seconds >= 0 if zero else seconds > 0):
        raise ValueError(f"a duration must be {'0 or more' if zero else 'above 0'}, got {text!r}")
    return seconds


def duration(text: str) -> float:
    """A value type: a time budget in seconds, from `45m`, `2h`, `1h30m` or seconds."""
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def interval(text: str) -> float:
    """A value type: a duration in seconds as `duration` reads it, where 0 means always."""
    try:
        return parse_duration(text, zero=True)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def show_duration(seconds: float) -> str:
    """`1h 30m`, `45m` or `50s`, as a user would write the budget back."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = zip((hours, minutes, secs), "hms", strict=True)
    return " ".join(f"{count}{unit}" for count, unit in parts if count) or "0s"


def value_from_data(label: str, value: object, option: Option) -> object:
    """A setting given as data converted exactly as the command line converts its text.

    The data: a config file's value, or a keyword of `tuning.tune`. `label` begins each
    message: where the value was given, and its name.

    Raises:
        TuningError: the value has the wrong type, is not one of the choices, or the option's
            own type refuses it.
    """
    kinds, wanted = data_kinds(option)
    if not isinstance(value, kinds) or (isinstance(value, bool) and not option.switch):
        raise TuningError(f"{label} must be {wanted}, got {value!r}")
    if option.switch:
        return value
    if option.choices is not None and value not in option.choices:
        choices = ", ".join(map(str, option.choices))
        raise TuningError(f"{label} must be one of {choices}, got {value!r}")
    if isinstance(value, list | tuple):  # an image size as [H, W]
        if len(value) != 2 or not all(isinstance(v, numbers.Integral) for v in value):
            raise TuningError(f"{label} must be {wanted}, got {value!r}")
        value = "x".join(map(str, value))
    if option.type is None:
        return value
    try:
        return option.type(str(value) if isinstance(value, numbers.Number) else os.fspath(value))
    except (argparse.ArgumentTypeError, ValueError) as e:
        raise TuningError(f"{label}: {e}") from None


def data_kinds(option: Option) -> tuple[tuple[type, ...], str]:
    """The Python types an option's value may have as data, and how a message names them."""
    if option.switch:
        return (bool,), "true or false"
    if option.type in (duration, interval):  # 45m or seconds, as on the command line
        return (str, numbers.Real), "a duration (45m, 2h) or seconds"
    if option.type is image_size:  # 32, "64x48" or [64, 48]
        return (str, numbers.Integral, list, tuple), 'a size (32, "64x48" or [64, 48])'
    if isinstance(option.type, IntegerRange):
        return (numbers.Integral,), "an integer"
    if option.type is Path:
        return (str, os.PathLike), "a path"
    return (str,), "a string"
