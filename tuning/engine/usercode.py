"""A user's model or HyperModel, checked before anything trains; its pins typed by its space.

`--model` names a function whose model must end in a Dense over the classes; `--hypermodel`
a KerasTuner HyperModel whose space is known only once its `build` has run. Both are
imported here once, before the search starts, so that a mistake in them is one line, not a
failed trial (issue 25).
"""

from __future__ import annotations

import math

import keras
import keras_tuner as kt

from hypermodels import user
from hypermodels.foreign import as_hypermodel
from hypermodels.hyperparameter import PinSwitch
from hypermodels.own import user_model
from hypermodels.space import Value
from hypermodels.training import set_precision
from tuning import objective
from tuning.config import TuneConfig
from tuning.errors import TuningError
from tuning.objective import Objective


def check_user_code(config: TuneConfig, input_shape: tuple[int, ...], num_classes: int) -> dict:
    """Import the user's code, check it, and return where it came from (spec, file, sha256).

    Returns:
        {} for a built-in network.

    Raises:
        TuningError: the code cannot be imported, or its model breaks the contract.
    """
    spec = config.user_spec
    if spec is None:
        return {}
    try:
        found, origin = user.load(spec)
        if config.model is not None:
            set_precision("float32")
            user_model(found, input_shape, num_classes, spec)
        else:
            as_hypermodel(found, spec)
    except ValueError as e:
        raise TuningError(str(e)) from None
    finally:
        keras.backend.clear_session()
    return origin


def objective_of(config: TuneConfig) -> Objective:
    """The search's objective; a bare name's direction inferred as KerasTuner infers it.

    Raises:
        TuningError: a metric the built-in networks do not log, or a name that tells
            neither direction.
    """
    try:
        if not config.user_hypermodel:
            return objective.built_in(config.objective)
        name, direction = objective.parse(config.objective)
    except ValueError as e:
        raise TuningError(f"--objective {e}") from None
    direction = direction or kt.engine.metrics_tracking.infer_metric_direction(name)
    if direction is None:
        raise TuningError(
            f"--objective {name}: its name does not say whether higher or lower is better; "
            f"give {name}:max or {name}:min"
        )
    return Objective(name, direction)


def declared_space(spec: str, values: dict | None = None) -> kt.HyperParameters:
    """The names and ranges a user's HyperModel declares, found by building it once.

    With `values`, the build takes the branches those values choose, so the names declared
    only under them (a momentum under `optimizer: sgd`) are found too.
    """
    hypermodel = as_hypermodel(user.load(spec)[0], spec)
    hp = kt.HyperParameters()
    hp.values.update(values or {})
    try:
        hypermodel.build(hp)
    finally:
        keras.backend.clear_session()
    return hp


def typed_pins(spec: str, pins: dict[str, Value]) -> dict[str, Value]:
    """`--set` values for a user's HyperModel, typed and checked by its own declarations.

    Raises:
        TuningError: a name its space does not declare, or a value its declaration refuses.
    """
    if not pins:
        return {}
    declared = {h.name: h for h in declared_space(spec).space}
    typed = {}
    for name, value in pins.items():
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise TuningError(f"--set: {spec} declares no {name!r} (it declares: {known})")
        typed[name] = pin_value(declared[name], name, value)
    return typed


def pin_value(declared: kt.engine.hyperparameters.HyperParameter, name: str, value: Value):
    """`value` (text from the command line, or a Python value) as `declared` takes it.

    Raises:
        TuningError: the value has the wrong type, or lies outside the declared range.
    """
    if isinstance(declared, kt.engine.hyperparameters.Fixed):
        raise TuningError(f"--set {name}: it is fixed at {declared.value} already")
    try:
        return typed_value(declared, value)
    except ValueError as e:
        raise TuningError(f"--set {name}: {e}") from None


def typed_value(declared: kt.engine.hyperparameters.HyperParameter, value: Value):
    """`value` (text, or a Python value) as the type `declared` takes; a Fixed gives its own.

    Raises:
        ValueError: the value has the wrong type, or lies outside the declared range.
    """
    kinds = kt.engine.hyperparameters
    text = str(value).strip()
    try:
        if isinstance(declared, kinds.Fixed):
            return declared.value
        if isinstance(declared, kinds.Boolean):
            typed = value if isinstance(value, bool) else dict(PinSwitch().words)[text.lower()]
        elif isinstance(declared, kinds.Choice):
            typed = next(v for v in declared.values if same_choice(v, value, text))
        elif isinstance(declared, kinds.Int):
            typed = int(text)
        else:
            typed = float(text)
    except (KeyError, StopIteration, ValueError):
        raise ValueError(f"{text!r} is not a value of {describe(declared)}") from None
    low, high = getattr(declared, "min_value", None), getattr(declared, "max_value", None)
    if low is not None and not low <= typed <= high:
        raise ValueError(f"{text} is outside {describe(declared)}")
    return typed


def same_choice(choice: Value, value: Value, text: str) -> bool:
    """Whether `value` (its `text`) names `choice`: "0" and "0.0" both name the choice 0.0."""
    if choice == value or str(choice) == text:
        return True
    if isinstance(choice, (str, bool)):
        return False
    try:  # a CSV writes 10 significant digits: 1/3 reads back as 0.3333333333
        return math.isclose(float(text), choice, rel_tol=1e-9)
    except ValueError:
        return False


def describe(declared: kt.engine.hyperparameters.HyperParameter) -> str:
    """`Int from 32 to 512`, `Choice of relu, tanh`: a declaration in a few words."""
    kind = type(declared).__name__
    if hasattr(declared, "min_value"):
        return f"{kind} from {declared.min_value} to {declared.max_value}"
    if hasattr(declared, "values"):
        return f"{kind} of {', '.join(map(str, declared.values))}"
    return kind
