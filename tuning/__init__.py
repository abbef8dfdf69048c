"""Bayesian hyperparameter search for Keras image classifiers, with test-set reports."""

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


def import_backend_quietly() -> None:
    """Import Keras's backend, TensorFlow with its C++ start-up log lines silenced.

    They are written straight to file descriptor 2 before any Python logging exists, so no
    environment variable hides them. The CLI calls this once its arguments are known to be
    good: `--help` and a bad argument answer without the backend's seconds of start-up.
    Under another backend (KERAS_BACKEND=jax) TensorFlow is never imported, installed or not.
    An import error still surfaces as a normal Python exception once stderr is restored.
    """
    from tuning import backend

    if not backend.is_tensorflow():
        backend.keep_tensorflow_out()
        import keras  # noqa: F401  # loads jax (or torch), which writes nothing at start-up

        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with _jax_kept_out():
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def _jax_kept_out() -> Iterator[None]:
    """Have `import jax` fail as if JAX were not installed, for the block's length only.

    TensorFlow's TFLite module imports JAX wherever it is installed, only to convert JAX
    functions: 0.6 s of CPU at the start of every TensorFlow process (`tune`, each trial's,
    each worker's) on the 2-core Xeon, for nothing here. A None entry in sys.modules makes an
    import raise ImportError, which TFLite expects; once TensorFlow has loaded, JAX imports as
    ever. Where JAX is loaded already, nothing changes.
    """
    if JAX_MODULE in sys.modules:
        yield
        return
    sys.modules[JAX_MODULE] = None
    try:
        yield
    finally:
        if sys.modules.get(JAX_MODULE, JAX_MODULE) is None:
            del sys.modules[JAX_MODULE]


def __getattr__(name: str):
    """`tuning.tune` and `tuning.Result`, the notebook's face, imported when first asked for.

    Lazily, so that the command line's `python -m tuning` pays for none of it.
    """
    if name in ("tune", "Result"):
        from tuning.api import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'tuning' has no attribute {name!r}")


def _enable_onednn() -> None:
    """Turn TensorFlow's oneDNN kernels on for x86-64 CPUs, unless the environment says.

    TensorFlow reads the switch once, at import, and enables oneDNN by itself only on CPUs
    with AVX512 neural-network features; on AVX2 machines it trains 1.5x faster with it
    (docs/speed.md). `tune --training plain` starts its trials with it off.
    """
    import platform

    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault(ONEDNN_ENV, "1")
        # With oneDNN, a second inter-op thread only contends with the intra-op ones: on 2
        # cores it cut training from 990 to 630 images/s (docs/speed.md).
        os.environ.setdefault(INTEROP_ENV, "1")


def _let_gpu_memory_grow() -> None:
    """Have every process of the search take GPU memory as it needs it, on either backend.

    TensorFlow otherwise reserves almost all of a GPU's memory in the first process that
    touches it, and JAX 75 % of it: `tune` itself, which evaluates and reports, would leave
    its trial processes none. Set before the backend is imported, and inherited by every
    process `tune` starts (trials, workers, bench runs). A user's own setting wins.
    """
    os.environ.setdefault(GPU_GROWTH_ENV, "true")
    os.environ.setdefault(JAX_PREALLOCATE_ENV, "false")


def _quiet_tensorflow_logs() -> None:
    """Keep TensorFlow's C++ log lines off the console, errors too where there is no GPU.

    On a machine without an NVIDIA device, TensorFlow's CUDA build logs its failed cuInit as
    an error in every process: a line per trial that means nothing. Where there is one, real
    errors still show. A user's own TF_CPP_MIN_LOG_LEVEL wins.
    """
    gpu = Path("/dev/nvidiactl").exists()
    os.environ.setdefault(LOG_LEVEL_ENV, "2" if gpu else "3")


def _keep_compiled_programs() -> None:
    """Keep XLA's compiled programs on disk, for every later process that compiles the same.

    A trial process compiles its training step afresh: on an H100 under JAX about 15 s of
    each 17 to 24 s trial (docs/speed.md). JAX's persistent compilation cache, and
    TensorFlow's for `jit_compile`, let a process load a program another one compiled:
    a resumed trial, a retrained configuration (`confirm`, `ablate`), a repeated `bench`.
    JAX skips programs that compiled in under a second by default; a trial's small ones
    are kept too (issue 28). In the user's cache folder; the user's own settings win.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / CACHE_NAME
    os.environ.setdefault(JAX_CACHE_ENV, str(cache / "jax"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    flags = os.environ.get(TF_XLA_FLAGS_ENV, "")
    if "tf_xla_persistent_cache_directory" not in flags:
        own = f"--tf_xla_persistent_cache_directory={cache / 'tensorflow-xla'}"
        os.environ[TF_XLA_FLAGS_ENV] = f"{flags} {own}".strip()


JAX_MODULE = "jax"
LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
CACHE_NAME = "keras-regularization-tuning"
JAX_CACHE_ENV = "JAX_COMPILATION_CACHE_DIR"
TF_XLA_FLAGS_ENV = "TF_XLA_FLAGS"
GPU_GROWTH_ENV = "TF_FORCE_GPU_ALLOW_GROWTH"
JAX_PREALLOCATE_ENV = "XLA_PYTHON_CLIENT_PREALLOCATE"
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
USER_ONEDNN = os.environ.get(ONEDNN_ENV)  # the user's own choice, which always wins
INTEROP_ENV = "TF_NUM_INTEROP_THREADS"
USER_INTEROP = os.environ.get(INTEROP_ENV)
_quiet_tensorflow_logs()
_enable_onednn()
_let_gpu_memory_grow()
_keep_compiled_programs()
