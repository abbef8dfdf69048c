"""Bayesian hyperparameter search for Keras image classifiers, with test-set reports."""

import os


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up log lines (oneDNN, CUDA probing) silenced.

    They are written straight to file descriptor 2 before any Python logging exists, so no
    environment variable hides them, and they would bury the one-line errors of the CLI.
    An import error still surfaces as a normal Python exception once stderr is restored.
    """
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_import_tensorflow_quietly()
