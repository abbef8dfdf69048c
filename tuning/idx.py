"""The course's datasets: MNIST and Fashion-MNIST as IDX files, or through `keras.datasets`.

Every file is checked (gzip, IDX header, counts, labels) before anything trains; a folder the
user names must hold the files, with no silent download instead.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path

import numpy as np

from hypermodels.hyperparameter import COURSE_DATASETS
from tuning.errors import DataError
from tuning.layout import portable_path
from tuning.sources import Dataset

# The course's two datasets (COURSE_DATASETS): IDX files, 60,000 + 10,000 grayscale 28x28
# images of 10 classes.
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# Debian's package dataset-fashion-mnist installs the same four files here.
SYSTEM_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}
DATA_DIR_ENV = "TUNING_DATA_DIR"
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
SIZES = {"train": 60_000, "test": 10_000}
IDX_UBYTE = 0x08


def load_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes with `ndim` dimensions, gzipped (`.gz`) or not.

    Raises:
        DataError: the file is missing, not gzip, has a wrong magic number or is truncated.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"missing data file {path}") from None
    except PermissionError as e:
        raise DataError(f"cannot read data file {path}: {e.strerror}") from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"corrupt data file {path}: {e}") from None
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"truncated data file {path}: {len(raw)} bytes, header needs {header}")
    magic = int.from_bytes(raw[:4], "big")
    if magic != (IDX_UBYTE << 8 | ndim):
        raise DataError(
            f"corrupt data file {path}: magic number {magic:#010x}, "
            f"expected {IDX_UBYTE << 8 | ndim:#010x}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape)  # Python ints: a forged header cannot overflow
    if len(raw) != expected:
        raise DataError(
            f"{'truncated' if len(raw) < expected else 'corrupt'} data file {path}: "
            f"{len(raw)} bytes, shape {shape} needs {expected}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_arrays(name: str, part: str, images: np.ndarray, labels: np.ndarray, where: str) -> None:
    """Check counts, image shape and label range of one part (train or test) of an IDX set.

    Raises:
        DataError: naming `where` the arrays came from.
    """
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{where}: {part} images are {images.shape[1:]}, expected {IMAGE_SHAPE}")
    if len(images) != len(labels):
        raise DataError(f"{where}: {len(images)} {part} images but {len(labels)} labels")
    if len(images) != SIZES[part]:
        raise DataError(f"{where}: {len(images)} {part} images, {name} has {SIZES[part]}")
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataError(f"{where}: {part} label {labels.max()} outside 0..{NUM_CLASSES - 1}")


def course_dataset(name: str, arrays: list[np.ndarray], source: dict) -> Dataset:
    """A course dataset's checked (N, 28, 28) uint8 arrays as a Dataset of (N, 28, 28, 1)."""
    x_train, y_train, x_test, y_test = arrays
    images = [x[..., np.newaxis] for x in (x_train, x_test)]  # views: no copy
    labels = [y.astype(np.int32) for y in (y_train, y_test)]
    classes = tuple(str(i) for i in range(NUM_CLASSES))
    return Dataset(name, images[0], labels[0], images[1], labels[1], classes, source)


def load_idx_dir(name: str, folder: Path) -> Dataset:
    """Load the four IDX files of `name` from `folder` and record their sha256.

    Each may be gzipped, as published, or unpacked (the same name without `.gz`).
    """
    paths = {
        key: find_idx(folder / filename) or folder / filename for key, filename in FILES.items()
    }
    arrays = {}
    for key, path in paths.items():
        arrays[key] = load_idx(path, ndim=3 if key.endswith("images") else 1)
    for part in ("train", "test"):
        where = str(paths[f"{part}_images"])
        check_arrays(name, part, arrays[f"{part}_images"], arrays[f"{part}_labels"], where)
    source = {
        "kind": "idx",
        "location": portable_path(folder.resolve()),
        "sha256": {path.name: sha256_file(path) for path in paths.values()},
    }
    return course_dataset(name, list(arrays.values()), source)


def check_data_dir(data_dir: Path, name: str) -> None:
    """Refuse a data dir without `<name>/`, saying which mistake it looks like.

    Raises:
        DataError: it does not exist, is the dataset's own folder (one level too deep), or
            holds no folder of that name.
    """
    if (data_dir / name).is_dir():
        return
    if not data_dir.is_dir():
        raise DataError(f"data dir {data_dir} does not exist (or is not a folder)")
    if find_idx(data_dir / FILES["train_images"]) is not None:
        raise DataError(
            f"data dir {data_dir} holds the IDX files themselves: pass the folder above it, "
            f"which holds {', '.join(f'{d}/' for d in COURSE_DATASETS)} ({data_dir.parent})"
        )
    raise DataError(f"data dir {data_dir} has no folder {name}/")


def find_idx(path: Path) -> Path | None:
    """`path` (gzipped), else the same file unpacked (no `.gz`), else None."""
    unpacked = path.with_suffix("") if path.suffix == ".gz" else path
    return next((p for p in (path, unpacked) if p.is_file()), None)


def load_keras(name: str) -> Dataset:
    """Load a course dataset through `keras.datasets`, which downloads once and caches it."""
    import tuning

    tuning.import_backend_quietly()  # Keras loads it; its start-up lines would show
    import keras

    module = {"mnist": keras.datasets.mnist, "fashion-mnist": keras.datasets.fashion_mnist}[name]
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as e:  # noqa: BLE001 - any download failure means the same to the user
        raise DataError(
            f"no local copy of {name} and keras.datasets could not download it ({e}); "
            f"point --data-dir or {DATA_DIR_ENV} at a folder holding {name}/{FILES['train_images']}"
        ) from None
    where = f"keras.datasets.{module.__name__.rsplit('.', 1)[-1]}"
    check_arrays(name, "train", x_train, y_train, where)
    check_arrays(name, "test", x_test, y_test, where)
    source = {"kind": "keras.datasets", "location": where}
    return course_dataset(name, [x_train, y_train, x_test, y_test], source)


def load_course(name: str, data_dir: Path | str | None) -> Dataset:
    """One of the course's datasets, from the first source that has it."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if data_dir is not None:
        check_data_dir(Path(data_dir), name)
        return load_idx_dir(name, Path(data_dir) / name)
    system = SYSTEM_DIRS.get(name)
    if system is not None and (system / FILES["train_images"]).exists():
        return load_idx_dir(name, system)
    return load_keras(name)
