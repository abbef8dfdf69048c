"""`--hypermodel FILE.py:NAME`: a user's KerasTuner HyperModel, searched as KerasTuner would.

Its own names and ranges, its own compile (loss, metrics) and its own `fit` where it has
one. Without one, Keras's defaults apply (batch size 32, no augmentation), unless its space
declares `batch_size` or `augment_factor`, which then work as for the built-in networks.
The labels reach its loss in the form it expects: integers for a sparse loss, else one-hot.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np

from hypermodels import space
from hypermodels.base import pipeline_inputs
from hypermodels.training import PLAIN, TrainingPath, set_precision

KERAS_BATCH_SIZE = 32  # Keras's default in fit


class ForeignHyperModel(kt.HyperModel):
    """A user's HyperModel (a class, an instance or a `build(hp)` function) as the tuner's."""

    def __init__(self, user: object, spec: str, path: TrainingPath = PLAIN, **kwargs):
        super().__init__(**kwargs)
        self.user = as_hypermodel(user, spec)
        self.spec = spec
        self.path = path

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """The user's compiled model for `hp`, its layers in the precision of the path."""
        set_precision(self.path.precision)
        return self.user.build(hp)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, x, y, **kwargs):
        """The user's own fit if it has one; else Keras's, with the batch size it declares."""
        y, kwargs = labels_for_loss(model, y, kwargs)
        if type(self.user).fit is not kt.HyperModel.fit:
            return self.user.fit(hp, model, x, y, **kwargs)
        batch_size = hp.values.get(space.BATCH_SIZE, KERAS_BATCH_SIZE)
        factor = hp.values.get(space.AUGMENT_FACTOR, 0.0)
        if self.path.input_pipeline or factor:  # augmentation happens in the input pipeline
            inputs = pipeline_inputs(x, y, batch_size, factor, kwargs, self.path.epoch_seeds)
            return model.fit(*inputs, **kwargs)
        return model.fit(x, y, batch_size=batch_size, **kwargs)


def as_hypermodel(user: object, spec: str) -> kt.HyperModel:
    """A HyperModel instance from a HyperModel class, an instance or a `build(hp)` function.

    Raises:
        ValueError: `user` is none of these, or its class needs arguments to be made.
    """
    if isinstance(user, kt.HyperModel):
        return user
    if isinstance(user, type) and issubclass(user, kt.HyperModel):
        try:
            return user()
        except TypeError as e:
            raise ValueError(
                f"--hypermodel {spec}: the class takes arguments ({e}); name an instance of "
                "it instead, made at the module's top level"
            ) from None
    if callable(user) and not isinstance(user, type):
        return BuildFunction(user)
    raise ValueError(
        f"--hypermodel {spec}: expected a KerasTuner HyperModel (a class or an instance) or "
        f"a build(hp) function, got {type(user).__name__}"
    )


class BuildFunction(kt.HyperModel):
    """A `build(hp)` function as a HyperModel, as KerasTuner makes one."""

    def __init__(self, build):
        super().__init__(name=getattr(build, "__name__", None))
        self.build_function = build

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """The function's model for `hp`."""
        return self.build_function(hp)


def wants_integer_labels(model: keras.Model) -> bool:
    """Whether the model's loss takes class indices (a sparse loss) rather than one-hot rows."""
    loss = model.loss
    if not isinstance(loss, str):  # a Loss object has a name, a loss function a __name__
        loss = getattr(loss, "name", None) or getattr(loss, "__name__", "") or type(loss).__name__
    return "sparse" in loss.lower()


def labels_for(model: keras.Model, y: np.ndarray) -> np.ndarray:
    """One-hot labels `y` in the form the model's loss takes."""
    return y.argmax(axis=-1).astype(np.int32) if wants_integer_labels(model) else y


def labels_for_loss(model: keras.Model, y, kwargs: dict) -> tuple[np.ndarray, dict]:
    """Training and validation labels in the form the model's loss takes."""
    if not wants_integer_labels(model):
        return y, kwargs
    kwargs = dict(kwargs)
    if kwargs.get("validation_data") is not None:
        x_val, y_val = kwargs["validation_data"]
        kwargs["validation_data"] = (x_val, labels_for(model, y_val))
    return labels_for(model, y), kwargs


class Unavailable(kt.HyperModel):
    """A notebook's model in a process that does not hold it: files read, nothing builds.

    `report` then writes its tables from the saved trials, and best_model.keras stays as
    the search wrote it.
    """

    def __init__(self, spec: str):
        super().__init__(name="unavailable")
        self.spec = spec
        self.path = PLAIN

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """Refuse, saying how to get the object back."""
        raise ValueError(
            f"{self.spec} was defined in a notebook; pass the same object to tuning.tune to "
            "build its models again"
        )
