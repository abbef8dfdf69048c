"""Find and load a dataset by the name `--dataset` gives, digest it, hold out validation, split.

The course's two datasets come from IDX files (or `keras.datasets`); any other name is a
`keras.datasets` set, an `.npz` file or an image folder, read by `tuning.sources`.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hypermodels.hyperparameter import COURSE_DATASETS
from tuning.errors import DataError
from tuning.layout import portable_path
from tuning.sources import KERAS_DATASETS, Dataset, load_folder, load_keras_dataset, load_npz

# The course's two datasets (COURSE_DATASETS): IDX files, 60,000 + 10,000 grayscale 28x28
# images of 10 classes.
BUILT_IN = (*COURSE_DATASETS, *KERAS_DATASETS)
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
# The course validates on the last 10,000 training images; any other source on a seeded,
# stratified sixth of them (issue 24).
COURSE_VALIDATION_SIZE = 10_000
VALIDATION_SHARE = 6
IDX_UBYTE = 0x08


@dataclass
class Split:
    """Training and validation arrays, images as float32 (N, H, W, C), labels one-hot."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


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


def dataset_name(spec: str) -> str:
    """The name a `--dataset` value goes by: a built-in name, or a file's or folder's stem."""
    return spec if spec in BUILT_IN else Path(spec).stem or Path(spec).resolve().name


def check_spec(spec: str) -> None:
    """Refuse a `--dataset` that is neither a built-in name nor an existing file or folder.

    Raises:
        DataError: in one line, naming what `--dataset` accepts.
    """
    if spec in BUILT_IN:
        return
    path = Path(spec)
    if path.is_dir() or (path.is_file() and path.suffix == ".npz"):
        return
    what = "is not an .npz file" if path.is_file() else "is no file or folder"
    raise DataError(
        f"--dataset {spec}: not a built-in dataset ({', '.join(BUILT_IN)}), and {what}; "
        "give one of those names, an .npz file or a folder with train/ and test/ "
        "(docs/your-own-data.md)"
    )


def load_dataset(
    spec: str, data_dir: Path | str | None = None, image_size: Sequence[int] | None = None
) -> Dataset:
    """Load the dataset `--dataset` names, checked, with its digest in `source`.

    The course's datasets are read from `data_dir` (or env TUNING_DATA_DIR) holding
    `<name>/<idx files>`, then a system copy (Debian's dataset-fashion-mnist), then
    `keras.datasets`. A data dir given explicitly must hold the files: a user who names a
    folder wants that folder, not a silent download. The built-in names win over a file or
    folder of the same name.
    """
    check_spec(spec)
    if spec in COURSE_DATASETS:
        dataset = load_course(spec, data_dir)
    elif spec in KERAS_DATASETS:
        dataset = load_keras_dataset(spec)
    elif Path(spec).is_dir():
        dataset = load_folder(Path(spec), tuple(image_size) if image_size else None)
    else:
        dataset = load_npz(Path(spec))
    if dataset.source["kind"] in ("npz", "folder"):
        dataset.source["location"] = portable_path(Path(spec).resolve())
    dataset.name = dataset_name(spec)
    dataset.source["digest"] = digest(dataset)
    return dataset


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


def array_digest(*arrays: np.ndarray | None) -> str:
    """Hex sha256 of arrays' shapes, dtypes and values: the same data however it was packed."""
    hasher = hashlib.sha256()
    for array in arrays:
        if array is None:
            hasher.update(b"none")
            continue
        hasher.update(f"{array.shape}{array.dtype.str}".encode())
        hasher.update(np.ascontiguousarray(array).data)
    return hasher.hexdigest()


def digest(dataset: Dataset) -> str:
    """The data's digest: every array and the class names (a resume on other data is refused)."""
    hasher = hashlib.sha256(array_digest(*parts(dataset)).encode())
    hasher.update("\n".join(dataset.class_names).encode())
    return hasher.hexdigest()


def parts(dataset: Dataset) -> tuple[np.ndarray | None, ...]:
    """The arrays of a dataset in a fixed order: train, test, then validation if any."""
    return (
        dataset.x_train,
        dataset.y_train,
        dataset.x_test,
        dataset.y_test,
        dataset.x_val,
        dataset.y_val,
    )


def default_val_size(dataset: Dataset) -> int:
    """The course's 10,000 for its datasets, else a sixth of the training images."""
    if dataset.name in COURSE_DATASETS:
        return COURSE_VALIDATION_SIZE
    return max(len(dataset.x_train) // VALIDATION_SHARE, dataset.num_classes)


def hold_out(dataset: Dataset, val_size: int | None = None, seed: int = 23) -> Dataset:
    """The dataset with its validation part: the source's own, else held out of training.

    The course's datasets hold out the last `val_size` training images, as the course does;
    any other source a seeded split that keeps each class's share (stratified).

    Raises:
        DataError: `val_size` given for a source with its own validation set, or one that
            leaves no training image or cannot hold every class.
    """
    if dataset.x_val is not None:
        if val_size is not None:
            raise DataError(
                f"--val-size: {dataset.source.get('location')} has its own validation set; "
                "leave --val-size out"
            )
        return dataset
    n = len(dataset.x_train)
    size = default_val_size(dataset) if val_size is None else val_size
    if not 1 <= size < n:
        raise DataError(f"--val-size must be between 1 and {n - 1}, got {size}")
    if dataset.name in COURSE_DATASETS:
        keep, held = np.arange(n - size), np.arange(n - size, n)
    else:
        keep, held = stratified(dataset, size, seed)
    return replace(
        dataset,
        x_train=dataset.x_train[keep],
        y_train=dataset.y_train[keep],
        x_val=dataset.x_train[held],
        y_val=dataset.y_train[held],
    )


def stratified(dataset: Dataset, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation images of a seeded, stratified split.

    Raises:
        DataError: `size` is below the number of classes, or leaves a class no training image.
    """
    from sklearn.model_selection import train_test_split

    try:
        keep, held = train_test_split(
            np.arange(len(dataset.x_train)),
            test_size=size,
            stratify=dataset.y_train,
            random_state=seed,
        )
    except ValueError as e:
        raise DataError(
            f"--val-size {size}: cannot hold out {size} of {len(dataset.x_train)} training "
            f"images with every one of the {dataset.num_classes} classes on both sides ({e})"
        ) from None
    # Sorted: the images keep the source's order, as the course's split does.
    return np.sort(keep), np.sort(held)


def check_train_limit(dataset: Dataset, train_limit: int | None) -> int:
    """The number of training images once validation is held out, `train_limit` checked.

    Raises:
        DataError: `train_limit` leaves no training image or asks for more than there are.
    """
    n_train = len(dataset.x_train)
    if train_limit is not None and not 1 <= train_limit <= n_train:
        raise DataError(f"--train-limit must be between 1 and {n_train}, got {train_limit}")
    return n_train


def split(dataset: Dataset, train_limit: int | None = None) -> Split:
    """The training arrays of a held-out dataset: optionally the first N training images.

    Raises:
        DataError: `train_limit` leaves no training image or asks for more than there are.
    """
    keep = train_limit or check_train_limit(dataset, train_limit)
    check_train_limit(dataset, keep)
    return Split(
        x_train=as_images(dataset.x_train[:keep]),
        y_train=one_hot(dataset.y_train[:keep], dataset.num_classes),
        x_val=as_images(dataset.x_val),
        y_val=one_hot(dataset.y_val, dataset.num_classes),
    )


def as_images(x: np.ndarray) -> np.ndarray:
    """Images as float32 (N, H, W, C), pixel values kept; the model rescales to [0, 1] itself."""
    return x.astype("float32")


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels to one-hot float32, as categorical cross-entropy expects.

    Rows of an identity matrix rather than Keras's `to_categorical`, which would load Keras
    and its backend into a command that only checks its data.
    """
    return np.eye(num_classes, dtype="float32")[y]
