"""Image data from any source: `.npz` files, image folders and `keras.datasets` sets.

Every reader returns a `Dataset` of images shaped (N, H, W, C), C 1 or 3, uint8 or float32
in [0, 255], and integer labels 0..K-1 with the class names they stand for; `check_dataset`
refuses, in one line naming the file, anything the search could not train on.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageMode, UnidentifiedImageError

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


KERAS_DATASETS = ("cifar10", "cifar100")
SPLITS = ("train", "test", "val")
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
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
NPZ_LAYOUT = "x_train, y_train, x_test, y_test, optionally x_val and y_val"
FOLDER_LAYOUT = "train/ and test/, optionally val/, each with one folder of images per class"


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


# --- image folders ---------------------------------------------------------------------------


def load_folder(path: Path, image_size: tuple[int, int] | None = None) -> Dataset:
    """A checked dataset from a folder of train/ and test/ (val/), one folder per class.

    Every image is resized to `image_size` (H, W), else to the most common training size.

    Raises:
        DataError: a split or class folder is missing or has no image, an image cannot be
            read, or the data is refused by `check_dataset`.
    """
    files = list_images(path)
    headers = {part: [image_header(image) for image, _ in items] for part, items in files.items()}
    size = check_image_size(image_size) if image_size else common_size(headers["train"])
    # One channel only if every image is grayscale: a colour image among them needs RGB.
    gray = all(is_gray for part in headers.values() for _, is_gray in part)
    images = {part: read_images(items, size, gray) for part, items in files.items()}
    names = {part: np.array([label for _, label in items]) for part, items in files.items()}
    labels, class_names = encode_labels(names, str(path))
    dataset = Dataset(
        name=path.resolve().name,
        x_train=images["train"],
        y_train=labels["train"],
        x_test=images["test"],
        y_test=labels["test"],
        class_names=class_names,
        source={"kind": "folder", "location": str(path), "image_size": list(size)},
        x_val=images.get("val"),
        y_val=labels.get("val"),
    )
    check_dataset(dataset, str(path))
    return dataset


def list_images(path: Path) -> dict[str, list[tuple[Path, str]]]:
    """Each split's image files, in sorted order, with their class (folder) names.

    Raises:
        DataError: `path` or its train/ or test/ is missing, a split has no class folder, a
            class folder has no image, or a class has test or val images but no train/ folder.
    """
    if not path.is_dir():
        raise DataError(f"{path} is not a folder; an image folder holds {FOLDER_LAYOUT}")
    files = {}
    for part in SPLITS:
        folder = path / part
        if not folder.is_dir():
            if part == "val":
                continue
            raise DataError(f"{path}: no {part}/ folder; an image folder holds {FOLDER_LAYOUT}")
        files[part] = [(image, c.name) for c in class_folders(folder) for image in image_files(c)]
    trained = {name for _, name in files["train"]}
    for part, items in files.items():
        untrained = sorted({name for _, name in items} - trained)
        if untrained:
            raise DataError(
                f"{path}: {part}/{untrained[0]}/ has no train/{untrained[0]}/ to match; "
                "every class needs training images"
            )
    return files


def class_folders(folder: Path) -> list[Path]:
    """The class folders of one split, sorted; hidden ones (.ipynb_checkpoints, ...) skipped.

    Raises:
        DataError: the split has no class folder.
    """
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"{folder}: no class folders; put each class's images in a folder named after it"
        )
    return classes


def image_files(folder: Path) -> list[Path]:
    """The images of one class folder, sorted; other files (.DS_Store, notes) are skipped.

    Raises:
        DataError: the folder holds no image.
    """
    images = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not images:
        raise DataError(
            f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}); add some or remove the folder"
        )
    return images


def check_image_size(image_size: tuple[int, int]) -> tuple[int, int]:
    """`image_size` as (H, W) ints.

    Raises:
        DataError: it is not two positive whole numbers.
    """
    size = tuple(image_size)
    whole = [isinstance(n, int | np.integer) and not isinstance(n, bool) for n in size]
    if len(size) != 2 or not all(whole) or min(size) < 1:
        raise DataError(f"image size must be two positive integers (height, width), got {size}")
    return int(size[0]), int(size[1])


def open_image(path: Path) -> Image.Image:
    """A lazily opened image (only its header read so far).

    Raises:
        DataError: the file is no image Pillow can read.
    """
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"cannot read image {path}: {e}") from None


def image_header(path: Path) -> tuple[tuple[int, int], bool]:
    """An image's (H, W) and whether it is grayscale ("1", "L", "LA", "I;16", ...), from its header.

    Raises:
        DataError: the file is no image Pillow can read.
    """
    with open_image(path) as image:
        width, height = image.size
        # Palette images have basemode "P", even a gray palette: they become RGB.
        return (height, width), ImageMode.getmode(image.mode).basemode == "L"


def common_size(headers: list[tuple[tuple[int, int], bool]]) -> tuple[int, int]:
    """The most common (H, W) among training images; of equal counts, the first in file order."""
    sizes = Counter(size for size, _ in headers)
    return sizes.most_common(1)[0][0]  # ties keep insertion, that is sorted file, order


def read_images(items: list[tuple[Path, str]], size: tuple[int, int], gray: bool) -> np.ndarray:
    """The images of one split as uint8 (N, H, W, C): resized to `size`, C 1 if `gray` else 3.

    Raises:
        DataError: an image cannot be decoded.
    """
    height, width = size
    images = np.empty((len(items), height, width, 1 if gray else 3), dtype=np.uint8)
    for i, (path, _) in enumerate(items):
        try:
            with open_image(path) as image:
                image = to_mode(image, "L" if gray else "RGB")
                if image.size != (width, height):
                    # Bilinear as Keras's image_dataset_from_directory resizes; Pillow widens
                    # the filter when shrinking, so a downsized image is smoothed, not aliased.
                    image = image.resize((width, height), Image.Resampling.BILINEAR)
                images[i] = np.asarray(image).reshape(height, width, -1)
        except (UnidentifiedImageError, OSError) as e:  # truncated or corrupt pixel data
            raise DataError(f"cannot read image {path}: {e}") from None
    return images


def to_mode(image: Image.Image, mode: str) -> Image.Image:
    """`image` converted to "L" or "RGB", 16-bit grayscale scaled down rather than clipped."""
    if image.mode.startswith("I;16"):
        # Pillow clips 16-bit values to 255 when converting to "L": scale 0..65535 to 0..255.
        pixels = np.rint(np.asarray(image, dtype=np.float32) / 257).astype(np.uint8)
        image = Image.fromarray(pixels)
    elif image.mode in ("P", "PA") and "transparency" in image.info:
        image = image.convert("RGBA")  # Pillow warns on a palette's transparency otherwise
    # Alpha is dropped, not composited, as Keras's image loading drops it.
    return image.convert(mode)


# --- keras.datasets --------------------------------------------------------------------------


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
