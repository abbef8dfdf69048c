"""Image folders: train/ and test/ (val/), one folder per class, read with Pillow.

The layout Keras's `image_dataset_from_directory` reads, read without TensorFlow so that a
JAX-only install reads it too; every image resized to one size (issue 24).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageMode, UnidentifiedImageError

from tuning.errors import DataError
from tuning.sources import SPLITS, Dataset, check_dataset, encode_labels

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FOLDER_LAYOUT = "train/ and test/, optionally val/, each with one folder of images per class"


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
