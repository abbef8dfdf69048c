"""`tune` on data other than the course's: an .npz file, an image folder, string labels.

Real tiny searches of the mlp, in-process where processes are not the point, with a small
--val-size; the data is made by the tests (scikit-learn's bundled 8x8 digits, PNGs drawn here).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tuning.cli.main import main
from tuning.idx import FILES

from helpers import read_csv, snapshot, tune_args

QUICK = ["--max-epochs", "1", "--top-n", "1", "--precision", "float32", "--in-process"]


def digits_npz(path: Path, labels=None) -> Path:
    """scikit-learn's 1,797 digits (8x8) as an .npz of raw pixel values, 1,500 of them to train."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images * (255 / 16)).round().astype(np.uint8)
    y = digits.target if labels is None else np.asarray(labels)[digits.target]
    np.savez(path, x_train=images[:1500], y_train=y[:1500], x_test=images[1500:], y_test=y[1500:])
    return path


def own_args(dataset: Path, results: Path | None, *extra: str) -> list[str]:
    """A tiny real search of the mlp on `dataset`, 2 trials of 1 epoch."""
    where = [] if results is None else ["--results-dir", str(results)]
    return [
        "tune",
        "--dataset",
        str(dataset),
        "--hypermodel",
        "mlp",
        "--max-trials",
        "2",
        "--val-size",
        "300",
        *where,
        *QUICK,
        *extra,
    ]


@pytest.fixture(scope="module")
def digits_search(tmp_path_factory) -> Path:
    """A finished 2-trial search on the digits .npz, results in the default folder."""
    root = tmp_path_factory.mktemp("digits")
    digits_npz(root / "digits.npz")
    cwd = Path.cwd()
    os.chdir(root)  # the default results dir is relative: results/<the file's stem>
    try:
        assert main(own_args(Path("digits.npz"), None)) == 0
    finally:
        os.chdir(cwd)
    return root


def test_an_npz_file_is_searched_into_results_of_its_stem(digits_search):
    results = digits_search / "results" / "digits"
    trials = read_csv(results / "trials.csv")
    assert list(trials.trial_id) == ["0", "1"] and set(trials.status) == {"COMPLETED"}
    assert len(read_csv(results / "test_results.csv")) == 1
    run = json.loads((results / "run.json").read_text())
    experiment = run["experiment"]
    assert experiment["name"] == "digits" and experiment["input_shape"] == [8, 8, 1]
    assert experiment["class_names"] == [str(i) for i in range(10)]
    assert experiment["warm_start"] is None and experiment["lr_factor"] == 0.3
    assert run["config"]["lr_factor"] == 0.3
    assert run["data_source"]["kind"] == "npz" and len(run["data_source"]["digest"]) == 64
    # No warm start off the course's data: trial 0 is a random point, not its configuration.
    assert trials.learning_rate.iloc[0] not in (0.00168, 0.00015)


def test_the_split_is_seeded_stratified_and_saved_once(digits_search):
    prepared = digits_search / "results" / "digits" / "data"
    y_val = np.load(prepared / "y_val.npy")
    y_train = np.load(prepared / "y_train.npy")
    assert len(y_val) == 300 and len(y_train) == 1200
    assert set(np.unique(y_val)) == set(range(10))  # every class on both sides
    assert np.load(prepared / "x_train.npy").shape == (1200, 8, 8, 1)


def test_the_page_and_the_start_block_name_the_data(digits_search, capsys):
    page = (digits_search / "results" / "digits" / "report.html").read_text()
    assert "digits: hyperparameter search report" in page
    assert "8x8x1 images, 10 classes (0, 1, 2, 3, ..., 9)" in page


def test_report_reads_the_search_s_own_copy_when_the_source_is_gone(digits_search, tmp_path):
    results = Path(shutil.copytree(digits_search / "results" / "digits", tmp_path / "digits"))
    # The source file was digits.npz relative to the search's folder: not here.
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        assert main(["report", str(results)]) == 0
    finally:
        os.chdir(cwd)
    assert len(read_csv(results / "test_results.csv")) == 1


def test_a_resume_goes_on_and_a_resume_on_changed_data_is_refused(tmp_path, capsys):
    source = digits_npz(tmp_path / "digits.npz")
    results = tmp_path / "out"
    assert main(own_args(source, results, "--max-trials", "1")) == 0
    first = (results / "tuner" / "trial_0" / "trial.json").read_bytes()
    assert main(own_args(source, results)) == 0
    assert list(read_csv(results / "trials.csv").trial_id) == ["0", "1"]
    assert (results / "tuner" / "trial_0" / "trial.json").read_bytes() == first
    capsys.readouterr()

    digits_npz(source, labels=list(range(1, 10)) + [0])  # the same images, other labels
    before = snapshot(results)
    assert main(own_args(source, results, "--max-trials", "3")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds a search on other data" in err[0], err
    assert snapshot(results) == before


def test_string_labels_become_classes_in_sorted_order(tmp_path):
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    source = digits_npz(tmp_path / "words.npz", labels=words)
    results = tmp_path / "out"
    assert main(own_args(source, results, "--max-trials", "1")) == 0
    run = json.loads((results / "run.json").read_text())
    assert run["experiment"]["class_names"] == sorted(words)


def png_folder(root: Path) -> Path:
    """train/, val/ and test/ of three classes of RGB PNGs, mostly 12x10, some 16x16."""
    rng = np.random.default_rng(7)
    for part, count in (("train", 12), ("val", 4), ("test", 4)):
        for k, name in enumerate(("circle", "square", "triangle")):
            folder = root / part / name
            folder.mkdir(parents=True)
            for i in range(count):
                size = (16, 16) if i % 4 == 3 else (10, 12)  # (width, height) for Pillow
                pixels = rng.integers(0, 80, (*size[::-1], 3), dtype=np.uint8) + 60 * k
                Image.fromarray(pixels, "RGB").save(folder / f"{i}.png")
    return root


def test_an_image_folder_of_mixed_sizes_is_resized_to_its_most_common(tmp_path):
    folder = png_folder(tmp_path / "shapes")
    results = tmp_path / "out"
    # The cnn, in the full space: the built-in networks take any shape, RGB included.
    args = own_args(folder, results, "--max-trials", "1", "--hypermodel", "cnn", "--space", "full")
    args.remove("--val-size"), args.remove("300")  # the folder has its own val/
    assert main(args) == 0
    run = json.loads((results / "run.json").read_text())
    assert run["experiment"]["input_shape"] == [12, 10, 3]
    assert run["experiment"]["class_names"] == ["circle", "square", "triangle"]
    assert np.load(results / "data" / "x_val.npy").shape == (12, 12, 10, 3)
    assert read_csv(results / "trials.csv").status.tolist() == ["COMPLETED"]


def test_the_cnn_refuses_images_too_small_for_its_layers(tmp_path, capsys):
    source = digits_npz(tmp_path / "digits.npz")
    args = own_args(source, tmp_path / "out", "--hypermodel", "cnn")
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "digits.npz" in err[0], err
    assert "the cnn needs images of at least 10x10 pixels, these are 8x8" in err[0]
    assert not (tmp_path / "out").exists()


def bad_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


IMAGES, LABELS = np.zeros((20, 8, 8), np.uint8), np.arange(20) % 2


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x_train": IMAGES, "y_train": LABELS, "x_test": IMAGES}, "y_test"),
        (
            {
                "x_train": IMAGES.reshape(20, 64),
                "y_train": LABELS,
                "x_test": IMAGES,
                "y_test": LABELS,
            },
            "not images",
        ),
        (
            {"x_train": IMAGES, "y_train": LABELS[:19], "x_test": IMAGES, "y_test": LABELS},
            "labels",
        ),
        (
            {"x_train": IMAGES, "y_train": LABELS * 0, "x_test": IMAGES, "y_test": LABELS},
            "training",
        ),
    ],
    ids=["missing-key", "features-not-images", "count-mismatch", "class-without-training"],
)
def test_bad_npz_is_one_line_and_leaves_results_alone(
    search_copy, tmp_path, capsys, arrays, message
):
    source = bad_npz(tmp_path / "bad.npz", **arrays)
    before = snapshot(search_copy)
    assert main(own_args(source, search_copy)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert str(source) in err[0]
    assert snapshot(search_copy) == before


def test_an_unknown_dataset_name_is_one_line(tmp_path, capsys):
    assert main(own_args(Path("mycifar"), tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--dataset mycifar: not a built-in dataset" in err[0], err


def test_unpacked_idx_files_search_and_report(data_dir, tmp_path):
    unpacked = tmp_path / "data" / "mnist"
    unpacked.mkdir(parents=True)
    import gzip

    for filename in FILES.values():
        raw = gzip.decompress((data_dir / "mnist" / filename).read_bytes())
        (unpacked / filename.removesuffix(".gz")).write_bytes(raw)
    results = tmp_path / "mnist"
    args = tune_args(results, tmp_path / "data", "--max-trials", "1", "--max-epochs", "1")
    assert main([*args, "--val-size", "1000", "--top-n", "1"]) == 0
    assert main(["report", str(results)]) == 0
    tested = pd.read_csv(results / "test_results.csv")
    assert len(tested) == 1 and tested.test_accuracy.iloc[0] > 0.5
