"""Find and load a dataset by the name `--dataset` gives, digest it, hold out validation, split.

The course's two datasets come from IDX files (or `keras.datasets`); any other name is a
`keras.datasets` set, an `.npz` file or an image folder, read by `tuning.sources`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hypermodels.hyperparameter import COURSE_DATASETS
from tuning.cifar import KERAS_DATASETS, load_keras_dataset
from tuning.errors import DataError
from tuning.folders import load_folder
from tuning.idx import load_course
from tuning.layout import portable_path
from tuning.sources import Dataset, load_npz

BUILT_IN = (*COURSE_DATASETS, *KERAS_DATASETS)
# The course validates on the last 10,000 training images; any other source on a seeded,
# stratified sixth of them (issue 24).
COURSE_VALIDATION_SIZE = 10_000
VALIDATION_SHARE = 6


@dataclass
class Split:
    """Training and validation arrays, images as float32 (N, H, W, C), labels one-hot."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


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
    if dataset.name in COURSE_DATASETS:  # slices: views of the arrays, no copy
        keep, held = slice(0, n - size), slice(n - size, n)
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
