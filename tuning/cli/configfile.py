"""`--config FILE.toml`: the same settings as the command line, read as data and checked."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from tuning.config import OPTIONS, network, user_code
from tuning.errors import TuningError
from tuning.settings import Option, duration, image_size, option_name

# Option types that read text; the others read integers, bar durations and image sizes.
TEXT_TYPES = (None, Path, network, user_code)

PINS_KEY = "set"  # the [set] table holds `--set NAME=VALUE` pins as `NAME = VALUE`


def read_config(path: Path) -> tuple[dict, dict]:
    """Read a TOML file whose keys are `tune`'s long options, checked like the command line.

    Keys may be written `max-trials` or `max_trials`. Values are only parsed, never executed.

    Returns:
        Argparse defaults for the settings the file sets, keyed by setting, and the pins of
        its `[set]` table as `NAME=VALUE` texts keyed by name.

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
    settable = {option_name(name): name for name in OPTIONS}
    defaults, pins = {}, {}
    for key, value in table.items():
        name = option_name(key)  # max_trials or max-trials
        if name == PINS_KEY:
            pins = pin_texts(path, value)
        elif name in settable:
            field = settable[name]
            defaults[field] = checked_value(path, name, value, OPTIONS[field])
        else:
            known = ", ".join(sorted([*settable, PINS_KEY]))
            raise TuningError(f"{path}: unknown key {key!r} (known: {known})")
    return defaults, pins


def checked_value(path: Path, name: str, value: object, option: Option) -> object:
    """A config value converted exactly as the command line converts the same option's text.

    Raises:
        TuningError: the value has the wrong TOML type, or the option's own check refuses it.
    """
    if option.switch:  # such as overwrite
        if not isinstance(value, bool):
            raise TuningError(f"{path}: {name} must be true or false, got {value!r}")
        return value
    expected, kind = (str, "a string") if option.type in TEXT_TYPES else (int, "an integer")
    if option.type is duration:  # "45m" or seconds, as on the command line
        expected, kind = (str, int, float), "a duration (45m, 2h) or seconds"
    if option.type is image_size:  # 32 or "64x48", as on the command line
        expected, kind = (str, int), 'a size (32 or "64x48")'
    if not isinstance(value, expected) or isinstance(value, bool):
        raise TuningError(f"{path}: {name} must be {kind}, got {value!r}")
    if option.choices is not None and value not in option.choices:
        choices = ", ".join(map(str, option.choices))
        raise TuningError(f"{path}: {name} must be one of {choices}, got {value!r}")
    if option.type is None:
        return value
    try:
        return option.type(str(value))
    except (argparse.ArgumentTypeError, ValueError) as e:
        raise TuningError(f"{path}: {name}: {e}") from None


def pin_texts(path: Path, table: object) -> dict[str, str]:
    """The `[set]` table as `NAME=VALUE` texts for `tuning.pins.parse_pin`, keyed by name.

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
