"""Which Keras backend this process trains with, known before Keras (and its backend) loads."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

TENSORFLOW = "tensorflow"
JAX = "jax"
BACKEND_ENV = "KERAS_BACKEND"


def name() -> str:
    """The Keras backend: `tensorflow`, `jax` or `torch`, as Keras itself will pick it.

    Read without importing Keras, since importing Keras imports its backend: the command line
    decides from this whether to import TensorFlow (quietly) at all. Keras's own order: the
    KERAS_BACKEND variable, else keras.json under KERAS_HOME (or ~/.keras), else TensorFlow.
    """
    if "keras" in sys.modules:  # loaded already: ask it, it cannot disagree with itself
        import keras

        return keras.backend.backend()
    if os.environ.get(BACKEND_ENV):
        return os.environ[BACKEND_ENV]
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return json.loads((home / "keras.json").read_text()).get("backend", TENSORFLOW)
    except (OSError, ValueError, AttributeError):
        return TENSORFLOW


def is_tensorflow() -> bool:
    """Whether this process trains with TensorFlow, the backend the fast path was tuned on."""
    return name() == TENSORFLOW


def keep_tensorflow_out() -> None:
    """Under another backend, have Keras treat TensorFlow as not installed, as it may not be.

    Keras imports TensorFlow wherever it is installed, whatever the backend, only to seed it
    (`keras.utils.set_random_seed`) or to ask whether a value is one of its types: seconds of
    start-up and hundreds of MiB in every trial process, for nothing under JAX. Keras asks
    one lazy module whether TensorFlow is `available`; its cached answer is set to no, as on
    a machine without it. A private attribute: tests/test_backend.py fails if it stops working.
    """
    if is_tensorflow():
        return
    from keras.src.utils import module_utils

    module_utils.tensorflow._available = False


def check_options(distribution: str | None, tensorboard: bool) -> None:
    """Refuse the options only TensorFlow has, under any other backend, with why.

    Raises:
        TuningError: `--distribution mirrored` or `--tensorboard` under JAX (or PyTorch).
    """
    from tuning.errors import TuningError

    if is_tensorflow():
        return
    where = f"under {BACKEND_ENV}={name()}"
    if distribution:
        raise TuningError(
            f"--distribution {distribution} is TensorFlow's tf.distribute; {where} each trial "
            "trains on one device: leave it out, or run with KERAS_BACKEND=tensorflow"
        )
    if tensorboard:
        raise TuningError(
            "--tensorboard logs through TensorFlow's tf.summary and KerasTuner adds HParams "
            f"only on TensorFlow; {where} leave it out, or run with KERAS_BACKEND=tensorflow"
        )
