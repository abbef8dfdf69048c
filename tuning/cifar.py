"""CIFAR-10 and CIFAR-100 through `keras.datasets`: Keras's cache first, else its download.

Keras's own loader trusts its cache only beside the downloaded archive; the unpacked batches
are read here, with an unpickler that builds numpy arrays and nothing else.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import numpy as np

from tuning.errors import DataError
from tuning.sources import Dataset, as_images, check_dataset

KERAS_DATASETS = ("cifar10", "cifar100")
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
# The folder each set's archive unpacks to, its batch files, the key of their labels and the
# file and key of the class names (the python version of https://www.cs.toronto.edu/~kriz/).
CIFAR_FILES = {
    "cifar10": (
        "cifar-10-batches-py",
        {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
        "labels",
        ("batches.meta", "label_names"),
    ),
    "cifar100": (
        "cifar-100-python",
        {"train": ["train"], "test": ["test"]},
        "fine_labels",
        ("meta", "fine_label_names"),
    ),
}
# The only globals a CIFAR batch needs to unpickle: numpy arrays (both numpy 1 and 2 spellings),
# the same set keras.datasets allows. Anything else is refused, so a file cannot run code.
PICKLE_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


def load_keras_dataset(name: str) -> Dataset:
    """A checked `keras.datasets` set (cifar10, cifar100): from Keras's cache, else Keras.

    Raises:
        DataError: an unknown name, a corrupt cached file, or no cached copy and no download.
    """
    if name not in KERAS_DATASETS:
        raise DataError(f"unknown keras dataset {name!r} (known: {', '.join(KERAS_DATASETS)})")
    folder = cifar_cache(name)
    arrays = read_cifar(name, folder) if folder else keras_load_data(name)
    x_train, y_train, x_test, y_test = arrays
    where = f"keras.datasets.{name}"
    dataset = Dataset(
        name=name,
        x_train=as_images(x_train, where, "train"),
        y_train=np.asarray(y_train).reshape(-1).astype(np.int32),  # Keras gives (N, 1)
        x_test=as_images(x_test, where, "test"),
        y_test=np.asarray(y_test).reshape(-1).astype(np.int32),
        class_names=cifar_class_names(name, cifar_cache(name)),
        source={"kind": "keras.datasets", "location": where},
    )
    check_dataset(dataset, where)
    return dataset


def keras_home() -> Path:
    """The folder Keras keeps its files in: $KERAS_HOME, else ~/.keras (Keras's own rule)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def cifar_cache(name: str) -> Path | None:
    """The unpacked copy of `name` in Keras's cache holding every batch file, or None.

    keras.datasets unpacks its download to datasets/<folder>-target/<folder>; tf.keras and a
    hand-unpacked archive leave datasets/<folder>. Read here, the unpacked files need neither
    the archive (which Keras checks by sha256, then unpacks again on every load) nor Keras.
    """
    folder, batches, _, _ = CIFAR_FILES[name]
    # Keras falls back to /tmp/.keras when its home is not writable.
    for base in dict.fromkeys((keras_home(), Path(tempfile.gettempdir()) / ".keras")):
        for candidate in (
            base / "datasets" / f"{folder}-target" / folder,
            base / "datasets" / folder,
        ):
            if all((candidate / f).is_file() for part in batches.values() for f in part):
                return candidate
    return None


def unpickle(path: Path) -> dict[str, object]:
    """One CIFAR batch or meta file: a Python 2 pickle of a dict, its keys decoded.

    Raises:
        DataError: the file cannot be read or unpickled, or needs a global other than numpy's.
    """
    try:
        with open(path, "rb") as f:
            content = NumpyUnpickler(f, encoding="bytes").load()
        return {key.decode() if isinstance(key, bytes) else key: v for key, v in content.items()}
    except Exception as e:  # noqa: BLE001 - a damaged pickle can raise almost any error
        raise DataError(
            f"corrupt data file {path} ({e}); delete {path.parent} so that Keras fetches it again"
        ) from None


class NumpyUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays and refuses every other global."""

    def find_class(self, module: str, name: str) -> object:
        """The global `module.name` if it is one of PICKLE_GLOBALS.

        Raises:
            pickle.UnpicklingError: any other global.
        """
        if (module, name) in PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def read_cifar(name: str, folder: Path) -> list[np.ndarray]:
    """x_train, y_train, x_test, y_test of a cached CIFAR set, images uint8 (N, 32, 32, 3).

    Raises:
        DataError: a batch file is corrupt.
    """
    _, batches, label_key, _ = CIFAR_FILES[name]
    arrays = []
    for part in ("train", "test"):
        contents = [unpickle(folder / f) for f in batches[part]]
        try:
            data = np.concatenate([np.asarray(c["data"], dtype=np.uint8) for c in contents])
            labels = np.concatenate([np.asarray(c[label_key]) for c in contents])
            # Rows are 1024 red, 1024 green, then 1024 blue values of a 32x32 image.
            images = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        except (KeyError, ValueError, TypeError) as e:
            raise DataError(f"corrupt data file in {folder} ({part}: {e})") from None
        arrays += [images, labels]
    return arrays


def keras_load_data(name: str) -> list[np.ndarray]:
    """x_train, y_train, x_test, y_test from `keras.datasets.<name>.load_data()`, channels last.

    Raises:
        DataError: Keras has no copy and cannot download one (offline), or fails otherwise.
    """
    import tuning

    tuning.import_backend_quietly()  # Keras loads it; its start-up lines would show
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as e:  # noqa: BLE001 - any download failure means the same to the user
        raise DataError(
            f"no local copy of {name} and keras.datasets could not download it ({e}); "
            f"Keras keeps its copy under {keras_home() / 'datasets'} "
            "(set KERAS_HOME to use another folder)"
        ) from None
    if keras.backend.image_data_format() == "channels_first":  # a user's keras.json says so
        x_train, x_test = (x.transpose(0, 2, 3, 1) for x in (x_train, x_test))
    return [x_train, y_train, x_test, y_test]


def cifar_class_names(name: str, folder: Path | None) -> tuple[str, ...]:
    """CIFAR-10's ten names; CIFAR-100's fine names from its cached meta file, else numbers."""
    if name == "cifar10":
        return CIFAR10_CLASSES
    meta_file, key = CIFAR_FILES[name][3]
    if folder is not None and (folder / meta_file).is_file():
        names = unpickle(folder / meta_file).get(key)
        if isinstance(names, list) and len(names) == 100:
            return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    return tuple(str(i) for i in range(100))
