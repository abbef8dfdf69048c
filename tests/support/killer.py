"""Run the real CLI, but SIGKILL the process at the Nth occurrence of a chosen point.

Usage: python tests/support/killer.py POINT N ARGS... where POINT is one of
    batch       after the Nth training batch of the process (mid-trial)
    checkpoint  in the Nth weights save, after half of the file is on disk
    oracle      before the Nth oracle.json write takes effect (temp file written, not renamed)
    report      before test_results.csv's write takes effect (the final reports)

Nothing is mocked: the pipeline runs as the user's command does; only the kill is injected.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import keras

from tuning.cli.main import main
from tuning.engine import search
from tuning.store import files

COUNTS = {"batch": 0, "checkpoint": 0, "oracle": 0, "report": 0}


def reached(point: str, wanted: str, n: int) -> None:
    """Count an occurrence of `point`; SIGKILL this process at the nth one of `wanted`."""
    if point != wanted:
        return
    COUNTS[point] += 1
    if COUNTS[point] == n:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def install(wanted: str, n: int) -> None:
    """Patch the kill point in: each wrapper calls the real code and kills at the nth time."""

    class KillAtBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            reached("batch", wanted, n)

    real_callbacks = search.training_callbacks
    search.training_callbacks = lambda config, goal: [*real_callbacks(config, goal), KillAtBatch()]

    real_save_weights = keras.Model.save_weights

    def save_weights(self, filepath, *args, **kwargs):
        real_save_weights(self, filepath, *args, **kwargs)
        if wanted == "checkpoint" and COUNTS["checkpoint"] + 1 == n:
            path = Path(filepath)
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        reached("checkpoint", wanted, n)

    keras.Model.save_weights = save_weights

    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        name = Path(dst).name
        if name == "oracle.json":
            reached("oracle", wanted, n)
        if name == "test_results.csv":
            reached("report", wanted, n)
        return real_replace(src, dst, *args, **kwargs)

    files.os.replace = replace


if __name__ == "__main__":
    point, count, *args = sys.argv[1:]
    install(point, int(count))
    sys.exit(main(args))
