"""`--config FILE.toml`: the same settings as the command line, read as data and checked."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tuning.config import OPTIONS
from tuning.errors import TuningError
from tuning.settings import option_name, value_from_data

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
            defaults[field] = value_from_data(f"{path}: {name}", value, OPTIONS[field])
        else:
            known = ", ".join(sorted([*settable, PINS_KEY]))
            raise TuningError(f"{path}: unknown key {key!r} (known: {known})")
    return defaults, pins


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
