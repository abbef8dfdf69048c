"""Image data as one `Dataset`: the checks every source passes, and `.npz` files.

Every reader (here, `tuning.folders`, `tuning.cifar` and `tuning.idx`) returns a `Dataset` of
images shaped (N, H, W, C), C 1 or 3, uint8 or float32 in [0, 255], and integer labels
0..K-1 with the class names they stand for; `check_dataset` refuses, in one line naming the
file, anything the search could not train on.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tuning.errors import DataError


@dataclass
class Dataset:
    """The train and test arrays of one dataset (validation too, where the source has it)."""

    name: str
    x_train: np.ndarray  # (N, H, W, C) uint8 or float32, pixel values in [0, 255]
    y_train: np.ndarray  # integer labels 0..K-1
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = ()
    source: dict = field(default_factory=dict)  # kind and location, for run.json
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """One image's shape, (H, W, C)."""
        return tuple(int(n) for n in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        """How many classes the labels name."""
        return len(self.class_names)


SPLITS = ("train", "test", "val")
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
NPZ_LAYOUT = "x_train, y_train, x_test, y_test, optionally x_val and y_val"


# --- .npz files ------------------------------------------------------------------------------


def load_npz(path: Path) -> Dataset:
    """A checked dataset from an `.npz` of x_train, y_train, x_test, y_test (x_val, y_val).

    Raises:
        DataError: the file is missing or no .npz, lacks an array, holds an object array
            (which only pickle could load) or holds data `check_dataset` refuses.
    """
    arrays = read_npz(path)
    where = str(path)
    parts = [p for p in SPLITS if f"x_{p}" in arrays]
    images = {p: as_images(arrays[f"x_{p}"], where, p) for p in parts}
    labels, class_names = encode_labels({p: arrays[f"y_{p}"] for p in parts}, where)
    dataset = Dataset(
        name=path.stem,
        x_train=images["train"],
        y_train=labels["train"],
        x_test=images["test"],
        y_test=labels["test"],
        class_names=class_names,
        source={"kind": "npz", "location": str(path)},
        x_val=images.get("val"),
        y_val=labels.get("val"),
    )
    check_dataset(dataset, where)
    return dataset


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The x_* and y_* arrays of an `.npz` file, read without pickle.

    Raises:
        DataError: the file is missing or no .npz, lacks an array or holds an object array.
    """
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"missing data file {path}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read {path} as an .npz archive ({e})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):  # a .npy file: one array
        raise DataError(f"{path}: one array, not an .npz archive of {NPZ_LAYOUT}")
    with npz:
        keys = check_npz_keys(path, npz)
        try:
            return {key: read_npz_array(path, npz, key) for key in keys}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise DataError(f"corrupt data file {path} ({e})") from None


def check_npz_keys(path: Path, npz: np.lib.npyio.NpzFile) -> list[str]:
    """The keys to read from an `.npz`: the four required, and x_val and y_val if present.

    Raises:
        DataError: a required array is missing, or only one of x_val and y_val is there.
    """
    missing = [key for key in NPZ_KEYS if key not in npz.files]
    if missing:
        raise DataError(
            f"{path}: no {', '.join(missing)}; an .npz needs {NPZ_LAYOUT} "
            f"(it holds {', '.join(sorted(npz.files)) or 'no array'})"
        )
    if ("x_val" in npz.files) != ("y_val" in npz.files):
        has, lacks = ("x_val", "y_val") if "x_val" in npz.files else ("y_val", "x_val")
        raise DataError(f"{path}: {has} but no {lacks}; give both or neither")
    return [*NPZ_KEYS, *(("x_val", "y_val") if "x_val" in npz.files else ())]


def read_npz_array(path: Path, npz: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    """One array of an `.npz`, refusing an object array with how to save it instead.

    Raises:
        DataError: the array is of dtype object, which only pickle could load.
    """
    try:
        return npz[key]
    except ValueError as e:
        if "allow_pickle" not in str(e):
            raise
        # Unpickling could run any code the file holds: a data file must not need it.
        raise DataError(
            f"{path}: {key} is an object array, which only pickle could load; save labels as "
            "numbers or fixed-width strings (np.array(labels, dtype=str)), images as numbers"
        ) from None


# --- checks shared by every source -----------------------------------------------------------


def encode_labels(
    parts: dict[str, np.ndarray], where: str
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """Every split's labels as int32 0..K-1, numbering the sorted union of all of them.

    Integer labels (whole floats too) name their classes "0", "1", ...; strings themselves.

    Raises:
        DataError: labels not 1-D (or (N, 1)), booleans, fractional or non-finite floats, or
            numbers in one split and strings in another.
    """
    labels = {part: label_values(y, where, part) for part, y in parts.items()}
    kinds = {part: y.dtype.kind == "U" for part, y in labels.items()}
    if len(set(kinds.values())) > 1:
        strings = [part for part, is_str in kinds.items() if is_str]
        numbers = [part for part, is_str in kinds.items() if not is_str]
        raise DataError(
            f"{where}: {', '.join(strings)} labels are strings but {', '.join(numbers)} labels "
            "are numbers; give every split labels of one kind"
        )
    classes = np.unique(np.concatenate(list(labels.values())))
    encoded = {part: np.searchsorted(classes, y).astype(np.int32) for part, y in labels.items()}
    return encoded, tuple(str(c) for c in classes.tolist())


def label_values(y: np.ndarray, where: str, part: str) -> np.ndarray:
    """One split's labels as a 1-D int64 or str array.

    Raises:
        DataError: not 1-D (or (N, 1)), booleans, fractional floats, or another dtype.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise DataError(
            f"{where}: {part} labels are shaped {y.shape}; give one label per image, (N,) "
            "or (N, 1) (one-hot labels: take their argmax)"
        )
    if y.dtype.kind in "iu":
        return y.astype(np.int64, copy=False)
    if y.dtype.kind == "f":
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            raise DataError(
                f"{where}: {part} labels hold {y[~whole][0]}, not a whole number; labels "
                "must be class numbers or names"
            )
        return y.astype(np.int64)
    if y.dtype.kind in "US":
        return y.astype(str, copy=False)
    what = "booleans" if y.dtype.kind == "b" else f"of dtype {y.dtype}"
    raise DataError(
        f"{where}: {part} labels are {what}; labels must be class numbers or names (strings)"
    )


def as_images(x: np.ndarray, where: str, part: str) -> np.ndarray:
    """Images as (N, H, W, C), C 1 or 3: uint8 kept as is, other numbers in 0..255 as float32.

    (N, H, W) gains a channel axis as a view; uint8 arrays are never copied.

    Raises:
        DataError: not (N, H, W) or (N, H, W, C) with C 1 or 3, not numbers, or values
            outside 0..255 (or not finite).
    """
    x = np.asarray(x)
    if x.ndim == 2:
        raise DataError(
            f"{where}: {part} images are not images (an (N, F) array of features, shaped "
            f"{x.shape}); this tool tunes image classifiers, on (N, H, W) or (N, H, W, C) arrays"
        )
    if x.ndim == 3:
        x = x[..., np.newaxis]
    elif x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(
            f"{where}: {part} images are shaped {x.shape}; expected (N, H, W) or (N, H, W, C) "
            "with C 1 (grayscale) or 3 (RGB), channels last"
        )
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind not in "iuf":
        raise DataError(f"{where}: {part} images are of dtype {x.dtype}; expected pixel numbers")
    return pixel_values(x, where, part)


def pixel_values(x: np.ndarray, where: str, part: str) -> np.ndarray:
    """Non-uint8 pixels checked to lie in 0..255: integers as uint8, floats as float32.

    Raises:
        DataError: a value outside 0..255, or not finite.
    """
    if x.size:
        low, high = x.min(), x.max()  # NaN propagates into both, and fails the test below
        if not (0 <= low and high <= 255):
            raise DataError(
                f"{where}: {part} pixel values run from {low} to {high}; this tool expects raw "
                "pixel values 0..255 (scale them back, e.g. x * 255 for values in 0..1)"
            )
        # Floats all within 0..1 are images already rescaled: the networks would divide them
        # by 255 again and train on near-black inputs, silently worse.
        if x.dtype.kind == "f" and high <= 1.0:
            raise DataError(
                f"{where}: {part} pixel values run from {low} to {high}, images already scaled "
                "to 0..1; this tool rescales raw pixel values 0..255 itself: pass x * 255"
            )
    # Integers in range fit uint8 exactly, a quarter of float32's memory.
    return x.astype(np.uint8 if x.dtype.kind in "iu" else np.float32, copy=False)


def check_dataset(dataset: Dataset, where: str) -> None:
    """Refuse, in one line starting with `where`, data the search could not train on.

    Raises:
        DataError: an empty split, image and label counts that differ, image shapes that
            differ between splits, labels outside 0..K-1, a class without a training image,
            or fewer than 2 classes.
    """
    if (dataset.x_val is None) != (dataset.y_val is None):
        raise DataError(f"{where}: validation images without labels, or labels without images")
    parts = {"train": (dataset.x_train, dataset.y_train), "test": (dataset.x_test, dataset.y_test)}
    if dataset.x_val is not None:
        parts["val"] = (dataset.x_val, dataset.y_val)
    for part, (x, y) in parts.items():
        check_part(dataset, where, part, x, y)
    k = dataset.num_classes
    if k < 2:
        raise DataError(
            f"{where}: {k} class{'' if k == 1 else 'es'} ({', '.join(dataset.class_names)}); "
            "a classifier needs at least 2"
        )
    counts = np.bincount(dataset.y_train, minlength=k)
    missing = [dataset.class_names[i] for i in np.flatnonzero(counts == 0)]
    if missing:
        shown = ", ".join(repr(n) for n in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DataError(
            f"{where}: class{'es' if len(missing) > 1 else ''} {shown} with no training image; "
            "every class needs training images"
        )


def check_part(dataset: Dataset, where: str, part: str, x: np.ndarray, y: np.ndarray) -> None:
    """Check one split's counts, image shape and labels against the train split's.

    Raises:
        DataError: naming `where` and the split.
    """
    if len(x) == 0:
        raise DataError(f"{where}: the {part} split is empty; every split needs images")
    if len(x) != len(y):
        raise DataError(f"{where}: {len(x)} {part} images but {len(y)} labels")
    if x.shape[1:] != dataset.x_train.shape[1:]:
        raise DataError(
            f"{where}: {part} images are {x.shape[1:]} (H, W, C) but train images are "
            f"{dataset.x_train.shape[1:]}; every split needs one image shape"
        )
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError(f"{where}: {part} labels are {y.dtype} {y.shape}, not integers (N,)")
    k = dataset.num_classes
    bad = y[(y < 0) | (y >= k)]
    if bad.size:
        raise DataError(f"{where}: {part} label {bad[0]} outside 0..{k - 1}")
