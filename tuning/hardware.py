"""Pick the fastest safe training path for this machine's CPU or GPU."""

from __future__ import annotations

from pathlib import Path

from hypermodels.training import PLAIN, TrainingPath

# CPU flags with native bfloat16 arithmetic; without them TensorFlow emulates bfloat16,
# measured 8x slower than float32 on this project's AVX2 machine (README, "Speed").
BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}
PRECISION_CHOICES = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
TRAINING_CHOICES = ("fast", "plain")


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def gpu_compute_capabilities() -> list[tuple[int, int]]:
    """The compute capability of each GPU TensorFlow sees; empty on a CPU-only machine."""
    import tensorflow as tf

    details = (tf.config.experimental.get_device_details(gpu) for gpu in gpus())
    return [d.get("compute_capability", (0, 0)) for d in details]


def gpus() -> list:
    """The GPUs TensorFlow sees."""
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def auto_precision() -> str:
    """The fastest precision whose arithmetic this machine does natively.

    bfloat16 on GPUs from Ampere on (compute capability 8.0) and on CPUs with AVX512-BF16 or
    AMX; float16 on Volta and Turing GPUs (7.x), with Keras's loss scaling; else float32.
    """
    capabilities = gpu_compute_capabilities()
    if capabilities:
        oldest = min(capabilities)
        if oldest >= (8, 0):
            return "mixed_bfloat16"
        return "mixed_float16" if oldest >= (7, 0) else "float32"
    return "mixed_bfloat16" if cpu_flags() & BF16_CPU_FLAGS else "float32"


def training_path(training: str = "fast", precision: str = "auto") -> TrainingPath:
    """The path `tune` trains with: `fast` (the default) or the guides' `plain` one.

    Args:
        training: `fast`: the input pipeline with fused augmentation, Keras's automatic XLA
            (on for GPUs, off for CPUs, where it measured 1.8x slower here) and the
            precision below; `plain`: float32 numpy arrays into fit, three layers.
        precision: `auto` picks `auto_precision()`; any other value forces that policy.
    """
    if training == "plain":
        return PLAIN if precision in ("auto", "float32") else TrainingPath(precision=precision)
    chosen = auto_precision() if precision == "auto" else precision
    return TrainingPath(precision=chosen, input_pipeline=True)
