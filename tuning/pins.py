"""`--set NAME=VALUE`: a pin's name checked against the space, its value against what Keras takes.

The same rules read the `[set]` table of a `--config` file (`tuning.cli.configfile`).
"""

from __future__ import annotations

from hypermodels import full
from hypermodels.hyperparameter import Limit
from hypermodels.space import (
    ALL_NAMES,
    HYPERPARAMETERS,
    PinError,
    Value,
    check_conditions,
    names,
)

# Each name's limit, read from its one declaration (hypermodels.space): a declared name
# always has one, so `--set` never meets a name it cannot check.
PIN_LIMITS: dict[str, Limit] = {name: h.limit for name, h in HYPERPARAMETERS.items()}


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
