"""Which devices train: a trial's tf.distribute strategy, and the GPU each local worker gets."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tuning.hardware import MIRRORED

if TYPE_CHECKING:  # imported where used, under TensorFlow only
    import tensorflow as tf


def distribution_strategy(name: str | None) -> tf.distribute.Strategy | None:
    """The strategy every trial builds and trains its model under; None for TensorFlow's default.

    `mirrored` is `tf.distribute.MirroredStrategy` over every GPU this process sees: each batch
    is split across them and the gradients summed. Without a GPU it mirrors onto the CPU alone,
    which trains as without a strategy. TensorFlow only: `backend.check_options` refuses it
    under another backend.
    """
    if name is None:
        return None
    import tensorflow as tf

    return tf.distribute.MirroredStrategy()


def gpu_ids() -> list[str]:
    """The GPUs of this machine as CUDA_VISIBLE_DEVICES names them, one for each worker."""
    from tuning.hardware import gpus

    count = len(gpus())  # lists them without claiming memory
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = visible.split(",") if visible else [str(i) for i in range(count)]
    return names[:count]


def worker_gpus(index: int, gpus: list[str], distribution: str | None) -> dict[str, str]:
    """The environment that pins local worker `index` to one GPU, round robin over `gpus`.

    With `mirrored` every worker keeps all GPUs (its trials are meant to use them all), as it
    does on a machine without GPUs.
    """
    if not gpus or distribution == MIRRORED:
        return {}
    return {"CUDA_VISIBLE_DEVICES": gpus[index % len(gpus)]}


def hide_gpus() -> None:
    """Keep this process off the GPUs, so that the workers get all of their memory.

    For the chief, which trains nothing: TensorFlow would otherwise reserve most of a GPU's
    memory when the chief first builds a model. Where TensorFlow has already set up its
    devices in this process (a test calling `tune` twice), they stay as they are. JAX takes
    GPU memory only as it needs it (`tuning` turns its preallocation off), so it is left be.
    """
    from tuning import backend

    if not backend.is_tensorflow():
        return
    import tensorflow as tf

    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # "Visible devices cannot be modified after being initialized"
        pass
