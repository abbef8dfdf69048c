"""How a setting is declared: its default, its option's help, type and choices, its resume rule.

`tuning.config.TuneConfig` declares each of `tune`'s settings once, with `setting(...)`; the
command line (`tuning.cli.options`), the config file (`tuning.cli.configfile`) and the resume
check (`tuning.store.resume`) are derived from those declarations. The value types here
raise argparse's error, so the command line shows their message as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


def int_at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """A value type: an integer from `low` up to `high` (no upper limit when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if high is None and value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


positive_int = int_at_least(1)
seed_int = int_at_least(0, 2**31 - 1)  # what numpy's and Keras's seeding accept


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
