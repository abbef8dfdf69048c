"""The full space's extra names: every technique of the course as a searchable choice.

Each default is the course's own fixed choice, so the full space's default point is the card
space's model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from hypermodels.hyperparameter import Hyperparameter, PinChoice, PinLimit, PinSwitch

if TYPE_CHECKING:
    import keras_tuner as kt

# Each hyperparameter's name: its CSV column and the key a saved search resumes by.
ACTIVATION = "activation"
INITIALIZER = "initializer"
BATCH_NORM = "batch_norm"
OPTIMIZER = "optimizer"
WEIGHT_DECAY = "weight_decay"
BIAS_L2 = "bias_l2"
ACTIVITY_L1 = "activity_l1"
FILTERS = "filters"
LR_SCHEDULE = "lr_schedule"

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu")
INITIALIZERS = ("he_normal", "glorot_uniform")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LR_SCHEDULES = ("plateau", "cosine")
FILTER_WIDTHS = (32, 64, 96)
# "0 or a log range" as a Choice that includes 0, the way the card space searches l1 and l2:
# a Float cannot hold an exact 0 on a log scale, and a separate on/off switch would add a
# dimension to the Gaussian process for the same five points.
WEIGHT_DECAYS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2)
PENALTIES = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)


def activation(hp: kt.HyperParameters) -> str:
    """Keras activation of every hidden conv and dense layer."""
    return hp.Choice(ACTIVATION, ACTIVATIONS, default="relu")


def initializer(hp: kt.HyperParameters) -> str:
    """Keras kernel initializer of every hidden conv and dense layer."""
    return hp.Choice(INITIALIZER, INITIALIZERS, default="glorot_uniform")


def batch_norm(hp: kt.HyperParameters) -> bool:
    """BatchNormalization between each hidden layer's linear part and its activation."""
    return hp.Boolean(BATCH_NORM, default=False)


def optimizer(hp: kt.HyperParameters) -> str:
    """The optimizer: adam, adamw, sgd (Nesterov momentum 0.9) or rmsprop."""
    return hp.Choice(OPTIMIZER, OPTIMIZERS, default="adam")


def weight_decay(hp: kt.HyperParameters) -> float | None:
    """AdamW's decoupled weight decay; None (inactive) under any other optimizer."""
    # The condition is declared with the name, in HYPERPARAMETERS below.
    return hp.Choice(WEIGHT_DECAY, WEIGHT_DECAYS, **CONDITIONS[WEIGHT_DECAY])


def bias_l2(hp: kt.HyperParameters) -> float:
    """L2 penalty on every bias (0 is off)."""
    return hp.Choice(BIAS_L2, PENALTIES)


def activity_l1(hp: kt.HyperParameters) -> float:
    """L1 penalty on every hidden layer's output activations (0 is off)."""
    return hp.Choice(ACTIVITY_L1, PENALTIES)


def filters(hp: kt.HyperParameters) -> int:
    """Filters of the CNN's first convolution; the second has twice as many."""
    return hp.Choice(FILTERS, FILTER_WIDTHS, default=64)


def lr_schedule(hp: kt.HyperParameters) -> str:
    """Learning-rate schedule: ReduceLROnPlateau, or cosine decay over the epoch budget."""
    return hp.Choice(LR_SCHEDULE, LR_SCHEDULES, default="plateau")


# Each name declared once. A course value is the name's declared default (the course's own
# fixed choice); no name here has an "off" that the ablation switches.
HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    # The categorical names take only their searched values.
    Hyperparameter(ACTIVATION, activation, PinChoice(ACTIVATIONS), course="relu"),
    Hyperparameter(INITIALIZER, initializer, PinChoice(INITIALIZERS), course="glorot_uniform"),
    Hyperparameter(BATCH_NORM, batch_norm, PinSwitch(), course=False),
    Hyperparameter(OPTIMIZER, optimizer, PinChoice(OPTIMIZERS), course="adam"),
    # KerasTuner's conditional hyperparameter: weight_decay exists only in adamw trials, so
    # the other trials carry no value for it (an empty CSV cell) rather than an unused one.
    Hyperparameter(
        WEIGHT_DECAY,
        weight_decay,
        PinLimit(float, 0.0),
        course=0.0,
        condition={"parent_name": OPTIMIZER, "parent_values": ["adamw"]},
    ),
    Hyperparameter(BIAS_L2, bias_l2, PinLimit(float, 0.0), course=0.0),
    Hyperparameter(ACTIVITY_L1, activity_l1, PinLimit(float, 0.0), course=0.0),
    # The MLP has no convolution to widen; the search space leaves `filters` out for it.
    Hyperparameter(FILTERS, filters, PinLimit(int, 1), course=64, only_in="cnn"),
    Hyperparameter(LR_SCHEDULE, lr_schedule, PinChoice(LR_SCHEDULES), course="plateau"),
)
DECLARATIONS: dict[str, Callable[[kt.HyperParameters], object]] = {
    h.name: h.declare for h in HYPERPARAMETERS
}
CONDITIONS: dict[str, Mapping] = {h.name: h.condition for h in HYPERPARAMETERS if h.condition}
ONLY_IN: dict[str, str] = {h.name: h.only_in for h in HYPERPARAMETERS if h.only_in}
