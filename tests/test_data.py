"""tuning.data: IDX parsing, dataset validation, and the train/validation split."""

from __future__ import annotations

import dataclasses
import gzip
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tuning import data, idx
from tuning.cli.main import main
from tuning.errors import DataError
from tuning.idx import DATA_DIR_ENV, FILES

from helpers import (
    snapshot,
    tune_args,
)

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """The uncompressed IDX encoding of a uint8 array: magic, big-endian dims, then the bytes."""
    if magic is None:
        magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_gz(path: Path, raw: bytes) -> Path:
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(raw)
    return path


def write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> Path:
    return write_gz(path, idx_bytes(array, magic))


# --- load_idx ---------------------------------------------------------------------------------


def test_load_idx_round_trips_images(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    path = write_idx(tmp_path / "images.gz", images)
    # The header is spelled out by hand here, so the helper cannot hide a byte-order mistake.
    assert gzip.decompress(path.read_bytes())[:16] == bytes.fromhex(
        "00000803000000030000000400000005"
    )

    loaded = idx.load_idx(path, ndim=3)

    assert loaded.shape == (3, 4, 5)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, images)


def test_load_idx_round_trips_labels(tmp_path):
    labels = np.array([5, 0, 4, 1, 9, 255], dtype=np.uint8)
    path = write_gz(tmp_path / "labels.gz", bytes.fromhex("00000801 00000006") + labels.tobytes())

    loaded = idx.load_idx(path, ndim=1)

    assert loaded.shape == (6,)
    assert loaded.tolist() == [5, 0, 4, 1, 9, 255]


def test_load_idx_reads_large_dims(tmp_path):
    # A dimension above 255 needs more than the lowest header byte.
    labels = (np.arange(70_000) % 10).astype(np.uint8)
    loaded = idx.load_idx(write_idx(tmp_path / "labels.gz", labels), ndim=1)
    assert loaded.shape == (70_000,)
    np.testing.assert_array_equal(loaded, labels)


def assert_data_error(path: Path, ndim: int, *words: str) -> DataError:
    with pytest.raises(DataError) as excinfo:
        idx.load_idx(path, ndim=ndim)
    message = str(excinfo.value)
    assert str(path) in message
    for word in words:
        assert word in message
    return excinfo.value


def test_load_idx_missing_file(tmp_path):
    assert_data_error(tmp_path / "nope.gz", 3, "missing")


def test_load_idx_not_gzip(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(idx_bytes(np.zeros((2, 2, 2), dtype=np.uint8)))
    assert_data_error(path, 3, "corrupt")


def test_load_idx_cut_off_gzip(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / "images.gz", images)
    compressed = path.read_bytes()
    path.write_bytes(compressed[: len(compressed) // 2])
    assert_data_error(path, 3, "corrupt")


def test_load_idx_header_too_short(tmp_path):
    # Magic and one dimension: 8 bytes, where 3 dimensions need 16.
    path = write_gz(tmp_path / "short.gz", bytes.fromhex("00000803 0000000a"))
    assert_data_error(path, 3, "truncated", "header")


def test_load_idx_empty_file_in_gzip(tmp_path):
    assert_data_error(write_gz(tmp_path / "empty.gz", b""), 1, "truncated")


def test_load_idx_labels_read_as_images(tmp_path):
    # A 1-dim label file is long enough for a 3-dim header but has the wrong magic number.
    path = write_idx(tmp_path / "labels.gz", np.zeros(40, dtype=np.uint8))
    error = assert_data_error(path, 3, "corrupt", "magic")
    assert "0x00000801" in str(error) and "0x00000803" in str(error)


def test_load_idx_images_read_as_labels(tmp_path):
    path = write_idx(tmp_path / "images.gz", np.zeros((2, 3, 3), dtype=np.uint8))
    assert_data_error(path, 1, "magic", "0x00000803")


def test_load_idx_foreign_magic(tmp_path):
    path = write_idx(tmp_path / "odd.gz", np.zeros((2, 3, 3), dtype=np.uint8), magic=0x12345678)
    assert_data_error(path, 3, "magic", "0x12345678")


def test_load_idx_payload_shorter_than_dims(tmp_path):
    raw = idx_bytes(np.zeros((4, 5, 5), dtype=np.uint8))
    path = write_gz(tmp_path / "short.gz", raw[:-1])
    assert_data_error(path, 3, "truncated")


def test_load_idx_payload_longer_than_dims(tmp_path):
    raw = idx_bytes(np.zeros((4, 5, 5), dtype=np.uint8))
    path = write_gz(tmp_path / "long.gz", raw + b"\x00")
    error = assert_data_error(path, 3, "corrupt")
    assert "truncated" not in str(error)


def test_load_idx_dims_whose_product_overflows(tmp_path):
    # 2**31 * 2**31 * 4 == 2**64, which wraps to 0 in int64: the empty payload "fits".
    header = bytes.fromhex("00000803 80000000 80000000 00000004")
    assert_data_error(write_gz(tmp_path / "huge.gz", header), 3, "truncated")


# --- load_dataset on synthetic IDX folders ------------------------------------------------------


def labels_of(part: str) -> np.ndarray:
    """The synthetic labels of `part`: 0..9 repeating, the test part starting at 3."""
    if part == "train":
        return (np.arange(60_000) % 10).astype(np.uint8)
    return ((np.arange(10_000) + 3) % 10).astype(np.uint8)


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory) -> Path:
    """A data dir holding a valid mnist/ of zero images (with one marked pixel each part)."""
    root = tmp_path_factory.mktemp("idx")
    folder = root / "mnist"
    folder.mkdir()
    x_train = np.zeros((60_000, 28, 28), dtype=np.uint8)
    x_train[0, 0, 0], x_train[-1, 27, 27] = 255, 7
    x_test = np.zeros((10_000, 28, 28), dtype=np.uint8)
    x_test[0, 14, 14] = 128
    write_idx(folder / FILES["train_images"], x_train)
    write_idx(folder / FILES["train_labels"], labels_of("train"))
    write_idx(folder / FILES["test_images"], x_test)
    write_idx(folder / FILES["test_labels"], labels_of("test"))
    return root


@pytest.fixture
def data_copy(clean_dir, tmp_path) -> Path:
    """A private copy of the clean data dir whose files a test may replace."""
    return Path(shutil.copytree(clean_dir, tmp_path / "data"))


def test_load_dataset_valid(clean_dir):
    dataset = data.load_dataset("mnist", clean_dir)

    assert dataset.name == "mnist"
    assert dataset.x_train.shape == (60_000, 28, 28, 1)
    assert dataset.x_test.shape == (10_000, 28, 28, 1)
    assert dataset.x_train.dtype == np.uint8
    assert dataset.x_train[0, 0, 0, 0] == 255 and dataset.x_train[-1, 27, 27, 0] == 7
    assert dataset.x_test[0, 14, 14, 0] == 128
    assert dataset.class_names == tuple("0123456789")
    assert int(dataset.x_train.sum()) == 255 + 7
    np.testing.assert_array_equal(dataset.y_train, labels_of("train"))
    np.testing.assert_array_equal(dataset.y_test, labels_of("test"))


def test_load_dataset_records_source(clean_dir):
    source = data.load_dataset("mnist", str(clean_dir)).source

    assert source["kind"] == "idx"
    assert not Path(source["location"]).is_absolute()  # results are published, paths relative
    assert (Path.cwd() / source["location"]).resolve() == (clean_dir / "mnist").resolve()
    assert set(source["sha256"]) == set(FILES.values())
    for value in source["sha256"].values():
        assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert len(set(source["sha256"].values())) == 4
    expected = idx.sha256_file(clean_dir / "mnist" / FILES["train_labels"])
    assert source["sha256"][FILES["train_labels"]] == expected


def test_load_dataset_label_count_disagrees(data_copy):
    write_idx(data_copy / "mnist" / FILES["train_labels"], labels_of("train")[:-1])
    with pytest.raises(DataError, match="labels") as excinfo:
        data.load_dataset("mnist", data_copy)
    assert "60000 train images but 59999 labels" in str(excinfo.value)


def test_load_dataset_label_out_of_range(data_copy):
    labels = labels_of("test")
    labels[123] = 10
    write_idx(data_copy / "mnist" / FILES["test_labels"], labels)
    with pytest.raises(DataError, match="label") as excinfo:
        data.load_dataset("mnist", data_copy)
    assert "label 10" in str(excinfo.value)


def test_load_dataset_wrong_image_size(data_copy):
    path = write_idx(
        data_copy / "mnist" / FILES["test_images"], np.zeros((10_000, 27, 28), dtype=np.uint8)
    )
    with pytest.raises(DataError) as excinfo:
        data.load_dataset("mnist", data_copy)
    assert str(path) in str(excinfo.value)
    assert "(27, 28)" in str(excinfo.value)


def test_load_dataset_wrong_image_count(data_copy):
    # Images and labels agree with each other, but a test part of 9,999 is not MNIST.
    write_idx(data_copy / "mnist" / FILES["test_images"], np.zeros((9_999, 28, 28), np.uint8))
    write_idx(data_copy / "mnist" / FILES["test_labels"], labels_of("test")[:-1])
    with pytest.raises(DataError, match="9999 test images"):
        data.load_dataset("mnist", data_copy)


def test_load_dataset_missing_file(data_copy):
    path = data_copy / "mnist" / FILES["test_labels"]
    path.unlink()
    with pytest.raises(DataError, match="missing") as excinfo:
        data.load_dataset("mnist", data_copy)
    assert str(path) in str(excinfo.value)


def test_load_dataset_dir_without_dataset_folder(clean_dir):
    with pytest.raises(DataError, match="fashion-mnist/"):
        data.load_dataset("fashion-mnist", clean_dir)


def test_unpacked_idx_files_read_as_the_gzipped_ones(data_copy, clean_dir):
    folder = data_copy / "mnist"
    for filename in FILES.values():  # what many users have after unpacking the download
        packed = folder / filename
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    unpacked, packed = data.load_dataset("mnist", data_copy), data.load_dataset("mnist", clean_dir)
    for part in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(unpacked, part), getattr(packed, part))
    assert set(unpacked.source["sha256"]) == {name.removesuffix(".gz") for name in FILES.values()}
    # The data's digest is the arrays', so a search resumes on either packing.
    assert unpacked.source["digest"] == packed.source["digest"]


def test_a_data_dir_that_does_not_exist_says_so(tmp_path):
    with pytest.raises(DataError, match=r"data dir .*/nowhere does not exist"):
        data.load_dataset("mnist", tmp_path / "nowhere")


def test_a_data_dir_one_level_too_deep_names_the_folder_to_pass(clean_dir):
    deep = clean_dir / "mnist"
    with pytest.raises(DataError) as excinfo:
        data.load_dataset("mnist", deep)
    message = str(excinfo.value)
    assert "holds the IDX files themselves: pass the folder above it" in message
    assert message.endswith(f"({clean_dir})")


def test_load_dataset_unknown_name(clean_dir):
    with pytest.raises(DataError, match="--dataset mycifar: not a built-in dataset"):
        data.load_dataset("mycifar", clean_dir)


def test_load_dataset_uses_env_data_dir(clean_dir, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(clean_dir))
    dataset = data.load_dataset("mnist")
    assert dataset.source["kind"] == "idx"
    assert (Path.cwd() / dataset.source["location"]).resolve() == (clean_dir / "mnist").resolve()


def test_load_dataset_env_data_dir_without_dataset(clean_dir, monkeypatch):
    # The env var counts as a folder the user chose: no fallback to a download.
    monkeypatch.setenv(DATA_DIR_ENV, str(clean_dir))
    with pytest.raises(DataError, match="no folder fashion-mnist/"):
        data.load_dataset("fashion-mnist")


def test_load_dataset_argument_wins_over_env(clean_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert data.load_dataset("mnist", clean_dir).x_train.shape == (60_000, 28, 28, 1)


# --- the real shared datasets -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_mnist(data_dir) -> data.Dataset:
    return data.load_dataset("mnist", data_dir)


def test_real_mnist(real_mnist):
    assert real_mnist.x_train.shape == (60_000, 28, 28, 1)
    assert real_mnist.x_test.shape == (10_000, 28, 28, 1)
    assert real_mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert real_mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert real_mnist.source["kind"] == "idx"


def test_real_fashion_mnist(data_dir):
    dataset = data.load_dataset("fashion-mnist", data_dir)
    assert dataset.x_train.shape == (60_000, 28, 28, 1)
    assert dataset.x_test.shape == (10_000, 28, 28, 1)
    for labels in (dataset.y_train, dataset.y_test):
        assert labels.min() >= 0 and labels.max() <= 9
    assert np.bincount(dataset.y_train, minlength=10).tolist() == [6_000] * 10


# --- split --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic() -> data.Dataset:
    rng = np.random.default_rng(42)
    full = data.Dataset(
        name="mnist",
        x_train=rng.integers(0, 256, size=(60_000, 28, 28, 1), dtype=np.uint8),
        y_train=rng.integers(0, 10, size=60_000, dtype=np.uint8),
        x_test=rng.integers(0, 256, size=(10_000, 28, 28, 1), dtype=np.uint8),
        y_test=rng.integers(0, 10, size=10_000, dtype=np.uint8),
        class_names=tuple("0123456789"),
    )
    return full


@pytest.fixture(scope="module")
def held(synthetic) -> data.Dataset:
    return data.hold_out(synthetic)


def test_split_holds_out_last_10000(synthetic, held):
    parts = data.split(held)

    assert parts.x_train.shape == (50_000, 28, 28, 1)
    assert parts.x_val.shape == (10_000, 28, 28, 1)
    assert parts.y_train.shape == (50_000, 10)
    assert parts.y_val.shape == (10_000, 10)
    for array in (parts.x_train, parts.y_train, parts.x_val, parts.y_val):
        assert array.dtype == np.float32
    np.testing.assert_array_equal(parts.x_val, synthetic.x_train[-10_000:])
    np.testing.assert_array_equal(parts.x_train, synthetic.x_train[:50_000])
    np.testing.assert_array_equal(parts.y_val.argmax(axis=1), synthetic.y_train[-10_000:])
    np.testing.assert_array_equal(parts.y_train.argmax(axis=1), synthetic.y_train[:50_000])


def test_split_keeps_raw_pixel_values(synthetic, held):
    # Rescaling to [0, 1] is the model's job; split only changes the dtype.
    parts = data.split(held, train_limit=10)
    assert parts.x_train.max() > 1.0
    assert parts.x_train[3, 5, 7, 0] == float(synthetic.x_train[3, 5, 7, 0])


def test_split_labels_are_one_hot(held):
    parts = data.split(held, train_limit=100)
    for labels in (parts.y_train, parts.y_val):
        assert set(np.unique(labels).tolist()) == {0.0, 1.0}
        np.testing.assert_array_equal(labels.sum(axis=1), np.ones(len(labels)))


@pytest.mark.parametrize("limit", [1, 1234, 50_000])
def test_split_train_limit_keeps_first_n(synthetic, held, limit):
    parts = data.split(held, train_limit=limit)

    assert parts.x_train.shape == (limit, 28, 28, 1)
    assert parts.y_train.shape == (limit, 10)
    np.testing.assert_array_equal(parts.x_train, synthetic.x_train[:limit])
    np.testing.assert_array_equal(parts.y_train.argmax(axis=1), synthetic.y_train[:limit])
    # The validation set does not depend on the limit.
    np.testing.assert_array_equal(parts.x_val, synthetic.x_train[-10_000:])


@pytest.mark.parametrize("limit", [0, -1, 50_001])
def test_split_train_limit_out_of_range(held, limit):
    with pytest.raises(DataError, match="between 1 and 50000"):
        data.split(held, train_limit=limit)


@pytest.mark.parametrize("size", [1, 2500, 59_999])
def test_val_size_holds_out_the_last_n_of_a_course_dataset(synthetic, size):
    parts = data.split(data.hold_out(synthetic, val_size=size))
    np.testing.assert_array_equal(parts.x_val, synthetic.x_train[-size:])
    assert len(parts.x_train) == 60_000 - size


@pytest.mark.parametrize("size", [0, 60_000])
def test_val_size_out_of_range(synthetic, size):
    with pytest.raises(DataError, match="--val-size must be between 1 and 59999"):
        data.hold_out(synthetic, val_size=size)


def test_other_data_holds_out_a_seeded_stratified_sixth(synthetic):
    other = dataclasses.replace(synthetic, name="mine")
    held = data.hold_out(other, seed=5)
    assert len(held.x_val) == 10_000 and len(held.x_train) == 50_000
    shares = np.bincount(held.y_val, minlength=10) / np.bincount(other.y_train, minlength=10)
    np.testing.assert_allclose(shares, 1 / 6, atol=0.002)  # each class keeps its share
    again, other_seed = data.hold_out(other, seed=5), data.hold_out(other, seed=6)
    np.testing.assert_array_equal(held.y_val, again.y_val)
    assert not np.array_equal(held.x_val, other_seed.x_val)


def test_split_real_mnist(real_mnist):
    parts = data.split(data.hold_out(real_mnist), train_limit=5)
    assert parts.y_train.argmax(axis=1).tolist() == [5, 0, 4, 1, 9]
    np.testing.assert_array_equal(parts.x_val, real_mnist.x_train[-10_000:])


def test_system_copy_of_fashion_mnist_is_used_without_a_data_dir(data_dir, tmp_path, monkeypatch):
    # Stands in for Debian's /usr/share/datasets/fashion-mnist, which this machine may lack.
    system = Path(shutil.copytree(data_dir / "fashion-mnist", tmp_path / "fashion-mnist"))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setitem(idx.SYSTEM_DIRS, "fashion-mnist", system)
    loaded = data.load_dataset("fashion-mnist")
    assert loaded.source["kind"] == "idx"
    assert (Path.cwd() / loaded.source["location"]).resolve() == system.resolve()


def forge_idx(path: Path, array: np.ndarray) -> None:
    """Write `array` (uint8) as a gzip IDX file with a correct header."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes(), compresslevel=1))


def read_idx(path: Path, ndim: int) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw[4 + 4 * ndim :], dtype=np.uint8).reshape(shape)


TRAIN_IMAGES = "train-images-idx3-ubyte.gz"


TRAIN_LABELS = "train-labels-idx1-ubyte.gz"


def drop_last_image(folder: Path) -> None:
    forge_idx(folder / TRAIN_IMAGES, read_idx(folder / TRAIN_IMAGES, 3)[:-1])


def label_out_of_range(folder: Path) -> None:
    labels = read_idx(folder / TRAIN_LABELS, 1).copy()
    labels[123] = 10
    forge_idx(folder / TRAIN_LABELS, labels)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / TRAIN_IMAGES).unlink(), "missing data file"),
        (lambda d: (d / TRAIN_IMAGES).write_bytes(b"\x1f\x8b\x08\x00" * 9), "corrupt data file"),
        (lambda d: forge_idx(d / TRAIN_IMAGES, np.zeros((2, 28), np.uint8)), "magic"),
        (drop_last_image, "59999 train images but 60000 labels"),
        (label_out_of_range, "train label 10 outside 0..9"),
        (lambda d: (d / TRAIN_IMAGES).unlink() or (d / TRAIN_IMAGES).mkdir(), "Is a directory"),
    ],
    ids=["missing", "truncated", "wrong-magic", "count-mismatch", "label-range", "unreadable"],
)
def test_bad_data_is_one_line_and_leaves_results_alone(
    search_copy, data_dir, tmp_path, capsys, damage, message
):
    broken = tmp_path / "data"
    shutil.copytree(data_dir / "mnist", broken / "mnist")
    damage(broken / "mnist")
    before = snapshot(search_copy)
    assert main(tune_args(search_copy, broken, "--max-trials", "3")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert str(broken / "mnist") in err[0]  # names the file, or the folder it came from
    assert snapshot(search_copy) == before
