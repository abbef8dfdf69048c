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


def worker_gpus(
    index: int, gpus: list[str], distribution: str | None, per_device: int = 1
) -> dict[str, str]:
    """The environment that pins local worker `index` to one GPU, round robin over `gpus`.

    With `per_device` trials on each GPU, workers 0 to per_device - 1 share the first GPU,
    the next ones the second, and so on. With `mirrored` every worker keeps all GPUs (its
    trials are meant to use them all), as it does on a machine without GPUs.
    """
    if not gpus or distribution == MIRRORED:
        return {}
    return {"CUDA_VISIBLE_DEVICES": gpus[(index // per_device) % len(gpus)]}


# What one trial process holds on a GPU besides its model: the CUDA context, XLA's programs
# and workspace, the input batches. Four workers of the cnn on one H200 peaked at 4,622 MiB
# in all (docs/speed.md): about 1.1 GiB each, rounded up.
TRIAL_OVERHEAD_BYTES = 1.25 * 2**30
# Per parameter: float32 weights, their gradients and Adam's two moments.
BYTES_PER_PARAMETER = 16
MAX_TRIALS_PER_DEVICE = 4  # beyond the measured 4, unmeasured
GPU_MEMORY_SHARE = 0.8  # of a GPU's memory the trials may plan on


def trials_per_device(gpu_bytes: int | None, parameters: int, cpus: int, gpus: int) -> int:
    """How many trials to train at once on each GPU: as many as its memory holds, at most 4.

    Each trial is a process that needs a CPU core to feed it, so no more than the cores per
    GPU either; 1 without a GPU, where trials would only contend for the same cores.
    """
    if not gpus or not gpu_bytes:
        return 1
    trial = TRIAL_OVERHEAD_BYTES + BYTES_PER_PARAMETER * parameters
    fits = int(GPU_MEMORY_SHARE * gpu_bytes // trial)
    return max(1, min(fits, MAX_TRIALS_PER_DEVICE, cpus // gpus))


def gpu_memory_bytes() -> int | None:
    """The smallest GPU's memory, as nvidia-smi reports it; None where there is none."""
    import subprocess

    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sizes = [int(line) for line in done.stdout.split() if line.strip().isdigit()]
    return min(sizes) * 2**20 if done.returncode == 0 and sizes else None


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
