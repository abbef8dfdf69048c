"""tuning.folders: image folders of train/ and test/, one folder per class."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tuning.folders import load_folder

from helpers import data_error as error

REPO = Path(__file__).resolve().parents[1]


def save(path: Path, image: Image.Image) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def noise(size: tuple[int, int], mode: str, seed: int) -> Image.Image:
    """A random image of `size` (W, H) in mode "L" or "RGB"."""
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    return Image.fromarray(pixels, mode)


@pytest.fixture
def folder(tmp_path) -> Path:
    """3 classes, 14 training images (8 of 12x10, 6 of 16x16), some gray, some RGB, 3 tests."""
    root = tmp_path / "pets"
    sizes = [(12, 10)] * 8 + [(16, 16)] * 4  # (W, H), as Pillow gives sizes
    for i, size in enumerate(sizes):
        label = ("cat", "dog", "fish")[i % 3]
        save(root / "train" / label / f"img{i:02}.png", noise(size, ("L", "RGB")[i % 2], i))
    # The first cat in sorted order: one colour, which a resize leaves as it is.
    save(root / "train" / "cat" / "a.png", Image.new("RGB", (16, 16), (200, 10, 30)))
    save(root / "train" / "dog" / "a.JPG", Image.new("L", (16, 16), 77))
    for label in ("cat", "dog", "fish"):
        save(root / "test" / label / "t.png", noise((16, 16), "RGB", 99))
    (root / "train" / "cat" / ".DS_Store").write_bytes(b"\0\1")
    (root / "train" / "fish" / "notes.txt").write_text("not an image")
    return root


def test_load_folder_reads_classes_in_sorted_order_at_the_most_common_size(folder):
    dataset = load_folder(folder)

    assert dataset.name == "pets"
    assert dataset.source == {"kind": "folder", "location": str(folder), "image_size": [10, 12]}
    assert dataset.class_names == ("cat", "dog", "fish")
    assert dataset.x_train.shape == (14, 10, 12, 3)
    assert dataset.x_train.dtype == np.uint8
    assert dataset.x_test.shape == (3, 10, 12, 3)
    np.testing.assert_array_equal(dataset.y_train, [0] * 5 + [1] * 5 + [2] * 4)
    np.testing.assert_array_equal(dataset.y_test, [0, 1, 2])
    assert dataset.y_train.dtype == np.int32
    assert (dataset.x_train[0] == (200, 10, 30)).all()  # train/cat/a.png
    assert (dataset.x_train[5] == 77).all()  # train/dog/a.JPG, gray made RGB
    assert dataset.x_val is None


def test_load_folder_breaks_a_tie_of_sizes_by_file_order(tmp_path):
    root = tmp_path / "tie"
    for split, label, name, size in [
        ("train", "b", "a.png", (5, 7)),
        ("train", "a", "z.png", (9, 4)),  # a/ sorts first, so its size wins the tie
        ("test", "a", "t.png", (3, 3)),
        ("test", "b", "t.png", (3, 3)),
    ]:
        save(root / split / label / name, noise(size, "RGB", 0))

    assert load_folder(root).input_shape == (4, 9, 3)


def test_load_folder_resizes_to_the_size_asked(folder):
    dataset = load_folder(folder, image_size=(8, 6))

    assert dataset.x_train.shape == (14, 8, 6, 3)
    assert dataset.source["image_size"] == [8, 6]


def test_load_folder_keeps_one_channel_when_every_image_is_gray(tmp_path):
    root = tmp_path / "gray"
    for split, label in [("train", "a"), ("train", "b"), ("test", "a"), ("val", "b")]:
        save(root / split / label / "x.png", noise((6, 5), "L", 1))
    sixteen = Image.new("I;16", (6, 5))
    sixteen.putdata([65535] * 30)
    save(root / "train" / "b" / "y.png", sixteen)
    save(root / "train" / "b" / "z.png", Image.new("1", (6, 5), 1))

    dataset = load_folder(root)

    assert dataset.input_shape == (5, 6, 1)
    assert dataset.x_val.shape == (1, 5, 6, 1)
    np.testing.assert_array_equal(dataset.y_val, [1])
    assert (dataset.x_train[2] == 255).all()  # 16-bit white scaled, not clipped
    assert (dataset.x_train[3] == 255).all()


def test_load_folder_turns_palette_and_alpha_images_to_rgb(tmp_path):
    root = tmp_path / "colour"
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette.info["transparency"] = bytes([0, 255] + [255] * 254)
    save(root / "train" / "a" / "p.png", palette)
    save(root / "train" / "b" / "rgba.png", Image.new("RGBA", (4, 4), (1, 2, 3, 0)))
    save(root / "test" / "a" / "l.png", Image.new("LA", (4, 4), (9, 255)))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = load_folder(root)

    assert dataset.input_shape == (4, 4, 3)
    assert (dataset.x_train[0] == (10, 20, 30)).all()
    assert (dataset.x_train[1] == (1, 2, 3)).all()
    assert (dataset.x_test[0] == 9).all()


def test_load_folder_names_an_unreadable_image(folder):
    broken = folder / "train" / "dog" / "broken.png"
    broken.write_text("this is text, not a PNG")

    assert error(load_folder, folder).startswith(f"cannot read image {broken}: ")


def test_load_folder_names_a_truncated_image(folder):
    image = folder / "test" / "fish" / "t.png"
    image.write_bytes(image.read_bytes()[:200])  # the header reads, the pixels do not

    assert error(load_folder, folder).startswith(f"cannot read image {image}: ")


def test_load_folder_refuses_a_class_folder_without_images(folder):
    empty = folder / "test" / "dog"
    for image in empty.iterdir():
        image.unlink()
    (empty / "readme.txt").write_text("no images here")

    message = error(load_folder, folder)

    assert message.startswith(f"{empty}: no images (.png, .jpg, .jpeg)")


def test_load_folder_refuses_a_class_only_in_test(folder):
    save(folder / "test" / "bird" / "b.png", noise((16, 16), "RGB", 5))

    message = error(load_folder, folder)

    assert message == (
        f"{folder}: test/bird/ has no train/bird/ to match; every class needs training images"
    )


def test_load_folder_refuses_a_folder_without_test(folder, tmp_path):
    (folder / "test").rename(tmp_path / "elsewhere")

    message = error(load_folder, folder)

    assert message.startswith(f"{folder}: no test/ folder; an image folder holds train/ and test/")


def test_load_folder_refuses_an_empty_split(folder):
    for label in ("cat", "dog", "fish"):
        (folder / "test" / label / "t.png").unlink()
        (folder / "test" / label).rmdir()

    message = error(load_folder, folder)

    assert message.startswith(f"{folder / 'test'}: no class folders")
