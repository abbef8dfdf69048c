"""tuning.sources: .npz files, image folders, the keras.datasets cache, and the shared checks."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from tuning.errors import DataError
from tuning.sources import (
    CIFAR10_CLASSES,
    Dataset,
    as_images,
    check_dataset,
    encode_labels,
    load_folder,
    load_keras_dataset,
    load_npz,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    """scikit-learn's bundled 8x8 digits, scaled from 0..16 to 0..255: 1497 train, 300 test."""
    bunch = load_digits()
    x = bunch.images * (255 / 16)
    y = bunch.target
    return {"x_train": x[:1497], "y_train": y[:1497], "x_test": x[1497:], "y_test": y[1497:]}


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def error(call, *args) -> str:
    """The one-line message of the DataError `call(*args)` raises."""
    with pytest.raises(DataError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- load_npz --------------------------------------------------------------------------------


def test_load_npz_reads_digits(tmp_path, digits):
    path = write_npz(tmp_path / "digits.npz", **digits)

    dataset = load_npz(path)

    assert dataset.name == "digits"
    assert dataset.source == {"kind": "npz", "location": str(path)}
    assert dataset.x_train.shape == (1497, 8, 8, 1)
    assert dataset.x_test.shape == (300, 8, 8, 1)
    assert dataset.x_train.dtype == np.float32
    assert dataset.x_train.max() == 255
    np.testing.assert_allclose(dataset.x_test[..., 0], digits["x_test"], rtol=1e-6)
    assert dataset.y_train.dtype == np.int32
    np.testing.assert_array_equal(dataset.y_train, digits["y_train"])
    assert dataset.class_names == tuple(str(i) for i in range(10))
    assert dataset.input_shape == (8, 8, 1)
    assert dataset.x_val is None and dataset.y_val is None


def test_load_npz_keeps_uint8_images_and_reads_validation(tmp_path, digits):
    x = np.rint(digits["x_train"]).astype(np.uint8)
    y = digits["y_train"].reshape(-1, 1)  # (N, 1), as keras.datasets gives labels
    path = write_npz(
        tmp_path / "d.npz",
        x_train=x[:1000],
        y_train=y[:1000],
        x_test=x[1000:1200],
        y_test=y[1000:1200],
        x_val=x[1200:],
        y_val=y[1200:],
    )

    dataset = load_npz(path)

    assert dataset.x_train.dtype == np.uint8
    assert dataset.x_val.shape == (297, 8, 8, 1)
    np.testing.assert_array_equal(dataset.y_val, y[1200:, 0])
    assert dataset.y_val.dtype == np.int32


def test_load_npz_maps_string_labels_to_sorted_classes(tmp_path):
    x = np.zeros((5, 4, 4, 3), dtype=np.uint8)
    path = write_npz(
        tmp_path / "pets.npz",
        x_train=x[:4],
        y_train=np.array(["dog", "cat", "bird", "dog"]),
        x_test=x[4:],
        y_test=np.array(["cat"]),
    )

    dataset = load_npz(path)

    assert dataset.class_names == ("bird", "cat", "dog")
    np.testing.assert_array_equal(dataset.y_train, [2, 1, 0, 2])
    np.testing.assert_array_equal(dataset.y_test, [1])
    assert dataset.input_shape == (4, 4, 3)


def test_load_npz_names_a_missing_array_and_the_file(tmp_path, digits):
    path = write_npz(
        tmp_path / "nolabels.npz", **{k: v for k, v in digits.items() if k != "y_test"}
    )

    message = error(load_npz, path)

    assert message.startswith(f"{path}: no y_test;")
    assert "x_train, y_train, x_test, y_test" in message


def test_load_npz_refuses_x_val_without_y_val(tmp_path, digits):
    path = write_npz(tmp_path / "d.npz", **digits, x_val=digits["x_test"])

    assert error(load_npz, path) == f"{path}: x_val but no y_val; give both or neither"


def test_load_npz_refuses_object_labels_without_unpickling(tmp_path, digits):
    labels = np.array(["cat", 3, None] * 499, dtype=object)
    path = write_npz(tmp_path / "d.npz", **{**digits, "y_train": labels})

    message = error(load_npz, path)

    assert message.startswith(f"{path}: y_train is an object array")
    assert "save labels as numbers or fixed-width strings" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"not a zip", "cannot read"), (None, "missing data file")],
)
def test_load_npz_refuses_a_missing_or_foreign_file(tmp_path, content, expected):
    path = tmp_path / "d.npz"
    if content is not None:
        path.write_bytes(content)

    assert error(load_npz, path).startswith(f"{expected}")


def test_load_npz_refuses_features(tmp_path, digits):
    flat = {k: v.reshape(len(v), -1) if k.startswith("x") else v for k, v in digits.items()}
    path = write_npz(tmp_path / "d.npz", **flat)

    message = error(load_npz, path)

    assert message.startswith(f"{path}: train images are not images (an (N, F) array")
    assert "(1497, 64)" in message
    assert "this tool tunes image classifiers" in message


def test_load_npz_refuses_pixels_above_255(tmp_path, digits):
    path = write_npz(tmp_path / "d.npz", **{**digits, "x_test": digits["x_test"] * 2})

    message = error(load_npz, path)

    assert message.startswith(f"{path}: test pixel values run from 0.0 to 510.0;")
    assert "expects raw pixel values 0..255" in message


def test_load_npz_refuses_images_already_scaled_to_0_1(tmp_path, digits):
    path = write_npz(tmp_path / "d.npz", **{**digits, "x_train": digits["x_train"] / 255})

    message = error(load_npz, path)

    assert message.startswith(f"{path}: train pixel values run from 0.0 to 1.0, images already")
    assert "pass x * 255" in message


def test_load_npz_refuses_a_class_missing_from_training(tmp_path, digits):
    keep = digits["y_train"] != 7
    parts = {**digits, "x_train": digits["x_train"][keep], "y_train": digits["y_train"][keep]}
    path = write_npz(tmp_path / "d.npz", **parts)

    message = error(load_npz, path)

    assert message == (
        f"{path}: class '7' with no training image; every class needs training images"
    )


def test_load_npz_refuses_an_empty_split(tmp_path, digits):
    parts = {**digits, "x_test": digits["x_test"][:0], "y_test": digits["y_test"][:0]}
    path = write_npz(tmp_path / "d.npz", **parts)

    assert error(load_npz, path) == f"{path}: the test split is empty; every split needs images"


def test_load_npz_refuses_counts_that_differ(tmp_path, digits):
    path = write_npz(tmp_path / "d.npz", **{**digits, "y_train": digits["y_train"][:-1]})

    assert error(load_npz, path) == f"{path}: 1497 train images but 1496 labels"


def test_load_npz_refuses_shapes_that_differ_between_splits(tmp_path, digits):
    wider = np.pad(digits["x_test"], ((0, 0), (0, 0), (0, 1)))
    path = write_npz(tmp_path / "d.npz", **{**digits, "x_test": wider})

    message = error(load_npz, path)

    assert message.startswith(f"{path}: test images are (8, 9, 1) (H, W, C)")
    assert "train images are (8, 8, 1)" in message


def test_load_npz_refuses_a_single_class(tmp_path, digits):
    parts = {**digits, "y_train": np.zeros(1497, int), "y_test": np.zeros(300, int)}
    path = write_npz(tmp_path / "d.npz", **parts)

    assert "1 class (0); a classifier needs at least 2" in error(load_npz, path)


# --- encode_labels, as_images, check_dataset ------------------------------------------------


def test_encode_labels_numbers_the_union_of_every_split_in_numeric_order():
    parts = {"train": np.array([10, 9, 2, 9]), "test": np.array([[2.0], [11.0]])}

    labels, names = encode_labels(parts, "d.npz")

    assert names == ("2", "9", "10", "11")
    np.testing.assert_array_equal(labels["train"], [2, 1, 0, 1])
    np.testing.assert_array_equal(labels["test"], [0, 3])
    assert labels["train"].dtype == labels["test"].dtype == np.int32


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (np.array([0.0, 0.5]), "d.npz: train labels hold 0.5, not a whole number"),
        (np.array([True, False]), "d.npz: train labels are booleans"),
        (np.eye(3, dtype=int), "d.npz: train labels are shaped (3, 3)"),
        (np.array([0.0, np.nan]), "d.npz: train labels hold nan"),
    ],
)
def test_encode_labels_refuses_labels_that_name_no_class(labels, expected):
    assert error(encode_labels, {"train": labels}, "d.npz").startswith(expected)


def test_encode_labels_refuses_strings_in_one_split_and_numbers_in_another():
    parts = {"train": np.array(["a", "b"]), "test": np.array([0, 1])}

    message = error(encode_labels, parts, "d.npz")

    assert message.startswith("d.npz: train labels are strings but test labels are numbers")


def test_as_images_adds_a_channel_without_copying_uint8():
    x = np.zeros((2, 5, 4), dtype=np.uint8)
    rgb = np.zeros((2, 5, 4, 3), dtype=np.uint8)

    assert as_images(x, "d.npz", "train").shape == (2, 5, 4, 1)
    assert np.shares_memory(as_images(x, "d.npz", "train"), x)
    assert as_images(rgb, "d.npz", "train") is rgb


def test_as_images_turns_integers_in_range_to_uint8_and_floats_to_float32():
    ints = as_images(np.full((1, 2, 2), 255, dtype=np.int64), "d.npz", "train")
    floats = as_images(np.full((1, 2, 2, 3), 127.5), "d.npz", "train")

    assert ints.dtype == np.uint8 and ints.max() == 255
    assert floats.dtype == np.float32 and floats.shape == (1, 2, 2, 3)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (np.zeros((2, 4, 4, 2)), "train images are shaped (2, 4, 4, 2)"),
        (np.zeros((2, 3, 4, 4, 1)), "train images are shaped (2, 3, 4, 4, 1)"),
        (np.full((1, 2, 2), -1, dtype=np.int16), "train pixel values run from -1 to -1"),
        (np.full((1, 2, 2), np.nan), "train pixel values run from nan to nan"),
        (np.full((1, 2, 2), "a"), "train images are of dtype <U1"),
    ],
)
def test_as_images_refuses_what_is_no_image(x, expected):
    assert error(as_images, x, "d.npz", "train").startswith(f"d.npz: {expected}")


def test_check_dataset_refuses_labels_outside_the_classes():
    x = np.zeros((3, 2, 2, 1), dtype=np.uint8)
    dataset = Dataset("d", x, np.array([0, 1, 2]), x, np.array([0, 1, 1]), ("a", "b"))

    assert error(check_dataset, dataset, "d.npz") == "d.npz: train label 2 outside 0..1"


# --- load_folder -----------------------------------------------------------------------------


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


# --- keras.datasets --------------------------------------------------------------------------


def write_batch(path: Path, images: np.ndarray, labels: list[int], key: str = "labels") -> None:
    """A CIFAR python batch: a pickled dict of bytes keys, rows of 1024 R, G then B values."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    content = {b"batch_label": b"fake", key.encode(): labels, b"data": rows, b"filenames": []}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(content, protocol=4))


def cifar_images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_load_keras_dataset_reads_cifar10_from_the_keras_cache(tmp_path, monkeypatch):
    # Where keras.datasets.cifar10.load_data unpacks its download under $KERAS_HOME.
    folder = tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    train = [cifar_images(4, seed) for seed in range(5)]
    for i, images in enumerate(train):
        write_batch(folder / f"data_batch_{i + 1}", images, [(4 * i + j) % 10 for j in range(4)])
    test = cifar_images(3, 9)
    write_batch(folder / "test_batch", test, [3, 1, 4])
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    dataset = load_keras_dataset("cifar10")

    assert dataset.source == {"kind": "keras.datasets", "location": "keras.datasets.cifar10"}
    assert dataset.class_names == CIFAR10_CLASSES
    assert dataset.class_names[:3] == ("airplane", "automobile", "bird")
    assert dataset.x_train.shape == (20, 32, 32, 3)
    assert dataset.x_train.dtype == np.uint8
    np.testing.assert_array_equal(dataset.x_train, np.concatenate(train))
    np.testing.assert_array_equal(dataset.x_test, test)
    np.testing.assert_array_equal(dataset.y_train, [i % 10 for i in range(20)])
    np.testing.assert_array_equal(dataset.y_test, [3, 1, 4])
    assert dataset.y_train.dtype == np.int32
    # The fake batch is what Keras's own parser reads: the same pixels, channels first there.
    from keras.src.datasets.cifar import load_batch

    data, labels = load_batch(str(folder / "test_batch"))
    np.testing.assert_array_equal(data.transpose(0, 2, 3, 1), dataset.x_test)
    assert list(labels) == [3, 1, 4]


def test_load_keras_dataset_reads_cifar100_fine_names_from_the_cache(tmp_path, monkeypatch):
    folder = tmp_path / "keras" / "datasets" / "cifar-100-python"  # as tf.keras unpacked it
    write_batch(folder / "train", cifar_images(100, 1), list(range(100)), "fine_labels")
    write_batch(folder / "test", cifar_images(2, 2), [99, 0], "fine_labels")
    names = [f"kind{i:02}".encode() for i in range(100)]
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": names}, protocol=4))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    dataset = load_keras_dataset("cifar100")

    assert dataset.num_classes == 100
    assert dataset.class_names[:2] == ("kind00", "kind01")
    np.testing.assert_array_equal(dataset.y_test, [99, 0])


def test_load_keras_dataset_refuses_a_batch_that_would_run_code(tmp_path, monkeypatch):
    folder = tmp_path / "keras" / "datasets" / "cifar-10-batches-py"
    for i in range(1, 6):
        write_batch(folder / f"data_batch_{i}", cifar_images(2, i), [0, 1])
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": os.getcwd}))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    message = error(load_keras_dataset, "cifar10")

    assert message.startswith(f"corrupt data file {folder / 'test_batch'} (refusing to unpickle")


def test_load_keras_dataset_refuses_an_unknown_name():
    assert error(load_keras_dataset, "mnist2") == (
        "unknown keras dataset 'mnist2' (known: cifar10, cifar100)"
    )


def test_load_keras_dataset_says_where_keras_looks_when_offline(tmp_path):
    # KERAS_HOME is read when Keras is imported, so the check runs in a fresh process. A dead
    # proxy makes the download fail at once, here and on a machine that is online.
    home = tmp_path / "keras"
    dead = "http://127.0.0.1:9"
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    env.update(KERAS_HOME=str(home), KERAS_BACKEND="jax", https_proxy=dead, HTTPS_PROXY=dead)
    code = (
        "from tuning.errors import DataError\n"
        "from tuning.sources import load_keras_dataset\n"
        "try:\n"
        "    load_keras_dataset('cifar10')\n"
        "except DataError as e:\n"
        "    print(e)\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    message = done.stdout.strip().splitlines()[-1]
    assert message.startswith("no local copy of cifar10 and keras.datasets could not download it (")
    assert message.endswith(
        f"); Keras keeps its copy under {home / 'datasets'} (set KERAS_HOME to use another folder)"
    )
