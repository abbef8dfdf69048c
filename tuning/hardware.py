"""Pick the fastest safe training path for this machine's CPU or GPU, and describe both."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from hypermodels.training import PLAIN, TrainingPath
from tuning import backend
from tuning.errors import TuningError

# CPU flags with native bfloat16 arithmetic; without them TensorFlow emulates bfloat16,
# measured 8x slower than float32 on an AVX2-only CPU (docs/speed.md).
BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}
# The flags that decide the training path's speed, as run.json and bench.json list them.
SHOWN_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
# "1" or "0": treat this CPU as having native bfloat16 or not, whatever its flags say; to
# check on one machine what `--precision auto` does on the other kind.
NATIVE_BF16_ENV = "TUNING_NATIVE_BF16"
PRECISION_CHOICES = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
TRAINING_CHOICES = ("fast", "plain")
# How one trial may train on several GPUs (tuning.engine.devices): tf.distribute's mirroring.
MIRRORED = "mirrored"
DISTRIBUTIONS = (MIRRORED,)


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


def cpu_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively: its flags, unless TUNING_NATIVE_BF16 says.

    Raises:
        TuningError: TUNING_NATIVE_BF16 is set to something other than 0 or 1.
    """
    forced = os.environ.get(NATIVE_BF16_ENV)
    if forced in (None, ""):
        return bool(cpu_flags() & BF16_CPU_FLAGS)
    if forced not in ("0", "1"):
        raise TuningError(f"{NATIVE_BF16_ENV} must be 0 or 1, not {forced!r}")
    return forced == "1"


def gpus() -> list:
    """The GPUs the backend sees; listing them claims no GPU memory (see `tuning`'s settings).

    None listed under PyTorch, which this project does not tune for.
    """
    if not backend.is_tensorflow():
        return jax_gpus() if backend.name() == backend.JAX else []
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def jax_gpus() -> list:
    """The GPUs JAX sees; none where its CPU-only jaxlib is installed, or no driver."""
    import jax

    try:
        return jax.devices("gpu")
    except RuntimeError:  # "Unknown backend gpu" or no CUDA device
        return []


def gpu_details() -> list[dict]:
    """Name and compute capability of each GPU the backend sees; empty on a CPU-only machine."""
    if not backend.is_tensorflow():
        return [{"name": gpu.device_kind, "compute_capability": capability(gpu)} for gpu in gpus()]
    import tensorflow as tf

    details = (tf.config.experimental.get_device_details(gpu) for gpu in gpus())
    return [
        {
            "name": d.get("device_name", "unknown GPU"),
            "compute_capability": tuple(d.get("compute_capability", (0, 0))),
        }
        for d in details
    ]


def capability(gpu) -> tuple[int, int]:
    """A JAX GPU's compute capability as (major, minor); (0, 0) where it does not say."""
    text = str(getattr(gpu, "compute_capability", "0.0"))
    major, _, minor = text.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:  # a ROCm GPU's gfx name: not CUDA's scale
        return (0, 0)


def gpu_compute_capabilities() -> list[tuple[int, int]]:
    """The compute capability of each GPU the backend sees; empty on a CPU-only machine."""
    return [gpu["compute_capability"] for gpu in gpu_details()]


def auto_precision() -> str:
    """The fastest precision whose arithmetic this machine does natively.

    bfloat16 on GPUs from Ampere on (compute capability 8.0), on either backend, and under
    TensorFlow on CPUs with AVX512-BF16 or AMX; float16 on Volta and Turing GPUs (7.x), with
    Keras's loss scaling; else float32. JAX's CPU compiler computes bfloat16 no faster than
    float32, even on those CPUs (docs/speed.md), so on the CPU it gets float32.
    """
    capabilities = gpu_compute_capabilities()
    if capabilities:
        oldest = min(capabilities)
        if oldest >= (8, 0):
            return "mixed_bfloat16"
        return "mixed_float16" if oldest >= (7, 0) else "float32"
    if not backend.is_tensorflow():
        return "float32"
    return "mixed_bfloat16" if cpu_native_bf16() else "float32"


def training_path(
    training: str = "fast", precision: str = "auto", epoch_seeds: bool = True
) -> TrainingPath:
    """The path `tune` trains with: `fast` (the default) or the guides' `plain` one.

    Args:
        training: `fast`: the input pipeline with fused augmentation, Keras's automatic XLA
            (on for GPUs, off for CPUs, where it measured 1.8x slower) and the precision
            below; `plain`: float32 numpy arrays into fit, three augmentation layers.
        precision: `auto` picks `auto_precision()`; any other value forces that policy.
        epoch_seeds: each epoch's batches from (seed, epoch); False for searches saved before.
    """
    if training == "plain":
        return PLAIN if precision in ("auto", "float32") else TrainingPath(precision=precision)
    chosen = auto_precision() if precision == "auto" else precision
    return TrainingPath(
        precision=chosen,
        input_pipeline=True,
        epoch_seeds=epoch_seeds,
        searched_inputs=xla_by_default(),  # one compiled program for many trials
    )


def xla_by_default() -> bool:
    """Whether Keras's `auto` turns XLA on here.

    On TensorFlow where there is a GPU, not on CPU-only machines; on JAX always (it has no
    other compiler); on PyTorch never.
    """
    if backend.is_tensorflow():
        return bool(gpus())
    return backend.name() == backend.JAX


def resolved(path: TrainingPath) -> dict:
    """`path` as it trains on this machine and backend: Keras's `auto` XLA made true or false."""
    xla = path.jit_compile if isinstance(path.jit_compile, bool) else xla_by_default()
    return {**path.to_json(), "jit_compile": xla, "backend": backend.name()}


def gpu_labels(machine: dict) -> list[str]:
    """Each GPU of a `describe_machine()` description as `name (compute capability x.y)`."""
    return [f"{g['name']} (compute capability {g['compute_capability']})" for g in machine["gpus"]]


def describe_machine() -> dict:
    """The machine, the CPU flags that decide the path's speed, and each GPU's capability."""
    flags = cpu_flags()
    machine = {
        **platform_facts(),
        "cpu_features": [flag for flag in SHOWN_FLAGS if flag in flags],
        "gpus": [
            {"name": gpu["name"], "compute_capability": "{}.{}".format(*gpu["compute_capability"])}
            for gpu in gpu_details()
        ],
    }
    if os.environ.get(NATIVE_BF16_ENV):
        machine[NATIVE_BF16_ENV] = os.environ[NATIVE_BF16_ENV]
    return machine


def platform_facts() -> dict:
    """What the run ran on, so timings from different machines are not compared."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpus": os.cpu_count(),
    }


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
