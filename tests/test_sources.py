"""tuning.sources: .npz files and the checks every source passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tuning.sources import Dataset, as_images, check_dataset, encode_labels, load_npz

from helpers import data_error as error

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
