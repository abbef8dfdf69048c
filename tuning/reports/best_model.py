"""best_model.keras: the search's best trial as one Keras file that loads without this project.

The model is compiled and holds its best epoch's weights and optimizer state. Keras keeps
no free metadata in a model's config, so the class names travel as one more member of the
`.keras` zip archive, `class_names.json`, which `keras.saving.load_model` reads past.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import keras

from hypermodels.base import ImageClassifier
from hypermodels.foreign import Unavailable
from tuning import experiment as experiments
from tuning import layout
from tuning.engine.evaluate import best_trials
from tuning.engine.kt_internals import Tuner
from tuning.errors import TuningError
from tuning.store.files import current_umask, read_json
from tuning.store.runinfo import RUN_FILE

CLASS_NAMES_MEMBER = "class_names.json"
TEMP_GLOB = ".best_model.*.tmp.keras"


def write_best_model(tuner: Tuner, results_dir: Path) -> Path | None:
    """Save the best trial's model with its class names, atomically; None when there is none."""
    path = results_dir / layout.BEST_MODEL
    best = best_trials(tuner, 1)
    if not best:  # no trial finished: a file left by an overwritten search would mislead
        path.unlink(missing_ok=True)
        return None
    checkpoint = tuner.checkpoint_path(best[0].trial_id)
    if not checkpoint.exists() or isinstance(tuner.hypermodel, Unavailable):
        return None  # the file written when the weights, or the notebook's model, were there
    names = experiments.saved(read_json(results_dir / RUN_FILE) or {}).class_names
    # Keras's own layers, where the search read dropout and L1/L2 from variables
    # (hypermodels.searched): the file must load with Keras alone.
    hypermodel = tuner.hypermodel
    plain = isinstance(hypermodel, ImageClassifier)
    # The optimizer is built before the weights load: its state loads too, or the file
    # would warn on every load. Its variables belong in the model's strategy.
    strategy = tuner.distribution_strategy
    with (
        strategy.scope() if strategy else contextlib.nullcontext(),
        hypermodel.keras_layers_only() if plain else contextlib.nullcontext(),
    ):
        model = hypermodel.build(best[0].hyperparameters)
        model.optimizer.build(model.trainable_variables)
    model.load_weights(checkpoint)
    try:
        save_atomic(model, list(names), path)
    finally:
        keras.backend.clear_session()
    return path


def save_atomic(model: keras.Model, names: list[str], path: Path) -> None:
    """Save `model` and `names` to a temporary .keras file beside `path`, rename it over.

    Raises:
        TuningError: the write failed (a full disk, say); `path` keeps its old content.
    """
    for leftover in path.parent.glob(TEMP_GLOB):  # a killed writer's; callers hold the lock
        leftover.unlink()
    # Keras insists on the .keras suffix, so the temporary file ends with it too.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".best_model.", suffix=".tmp.keras")
    os.close(fd)
    try:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(CLASS_NAMES_MEMBER, json.dumps(names))
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 is too private for a result
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise TuningError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def class_names(path: Path | str) -> list[str]:
    """The class names stored in the best_model.keras at `path`, in the model's output order."""
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(CLASS_NAMES_MEMBER))
