"""tuning.cifar: CIFAR-10 and CIFAR-100 from Keras's cache, or its offline error."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

from tuning.cifar import CIFAR10_CLASSES, load_keras_dataset

from helpers import data_error as error

REPO = Path(__file__).resolve().parents[1]


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
        "from tuning.cifar import load_keras_dataset\n"
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
