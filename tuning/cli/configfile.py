"""`--config FILE.toml`: the same settings as the command line, read as data and checked."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from tuning.cli.options import duration
from tuning.errors import TuningError

PINS_KEY = "set"  # the [set] table holds `--set NAME=VALUE` pins as `NAME = VALUE`


def read_config(path: Path, parser: argparse.ArgumentParser) -> tuple[dict, dict]:
    """Read a TOML file whose keys are `parser`'s long options, checked like the command line.

    Keys may be written `max-trials` or `max_trials`. Values are only parsed, never executed.

    Returns:
        Argparse defaults for the options set in the file, and the pins of its `[set]` table
        as `NAME=VALUE` texts keyed by name.

    Raises:
        TuningError: the file is unreadable or not TOML, or a key is unknown or has a value of
            the wrong type or range; the message names the key.
    """
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise TuningError(f"cannot read config file {path}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TuningError(f"config file {path} is not valid TOML: {e}") from None
    actions = settable_actions(parser)
    defaults, pins = {}, {}
    for key, value in table.items():
        name = key.replace("_", "-")
        if name == PINS_KEY:
            pins = pin_texts(path, value)
        elif name in actions:
            defaults[actions[name].dest] = checked_value(path, name, value, actions[name])
        else:
            known = ", ".join(sorted([*actions, PINS_KEY]))
            raise TuningError(f"{path}: unknown key {key!r} (known: {known})")
    return defaults, pins


def settable_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The options a config file may set, by long name without the dashes."""
    actions = {}
    for action in parser._actions:  # argparse has no public list of its options
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in ("help", "config", "pins"):
            actions[longs[0][2:]] = action
    return actions


def checked_value(path: Path, name: str, value: object, action: argparse.Action) -> object:
    """A config value converted exactly as argparse converts the same option's text.

    Raises:
        TuningError: the value has the wrong TOML type, or the option's own check refuses it.
    """
    if action.nargs == 0:  # a flag such as --overwrite
        if not isinstance(value, bool):
            raise TuningError(f"{path}: {name} must be true or false, got {value!r}")
        return value
    expected, kind = (str, "a string") if action.type in (None, Path) else (int, "an integer")
    if action.type is duration:  # "45m" or seconds, as on the command line
        expected, kind = (str, int, float), "a duration (45m, 2h) or seconds"
    if not isinstance(value, expected) or isinstance(value, bool):
        raise TuningError(f"{path}: {name} must be {kind}, got {value!r}")
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise TuningError(f"{path}: {name} must be one of {choices}, got {value!r}")
    if action.type is None:
        return value
    try:
        return action.type(str(value))
    except (argparse.ArgumentTypeError, ValueError) as e:
        raise TuningError(f"{path}: {name}: {e}") from None


def pin_texts(path: Path, table: object) -> dict[str, str]:
    """The `[set]` table as `NAME=VALUE` texts for `space.parse_pin`, keyed by name.

    Raises:
        TuningError: `set` is not a table, or a value is not a number, string or boolean.
    """
    if not isinstance(table, dict):
        raise TuningError(f"{path}: {PINS_KEY} must be a table of NAME = VALUE, got {table!r}")
    texts = {}
    for name, value in table.items():
        if isinstance(value, bool):
            value = str(value).lower()
        elif not isinstance(value, int | float | str):
            raise TuningError(f"{path}: set.{name} must be a number or a string, got {value!r}")
        texts[name] = f"{name}={value}"
    return texts
