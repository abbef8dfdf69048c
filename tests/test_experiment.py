"""tuning.experiment: what one search is about, defined from its data and saved in run.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hypermodels import space
from tuning import experiment
from tuning.errors import DataError
from tuning.sources import Dataset


def dataset(name: str, shape=(8, 8, 1), classes=("a", "b", "c")) -> Dataset:
    images = np.zeros((6, *shape), np.uint8)
    labels = np.arange(6) % len(classes)
    source = {"kind": "npz", "location": f"{name}.npz", "digest": "0" * 64}
    return Dataset(name, images, labels, images, labels, tuple(classes), source)


def test_a_course_dataset_gets_the_course_s_extras():
    mnist = experiment.define(dataset("mnist", (28, 28, 1), tuple("0123456789")), "cnn", "card")
    assert mnist.warm_start == space.course_values("mnist")
    assert mnist.lr_factor == 0.3787 and mnist.is_course
    assert list(mnist.variants) == [
        "best",
        "no_augmentation",
        "no_dropout",
        "no_l1",
        "no_l2",
        "all_off",
    ]


def test_other_data_starts_from_random_points_with_a_factor_of_0_3():
    mine = experiment.define(dataset("mine"), "mlp", "full")
    assert mine.warm_start is None and mine.lr_factor == 0.3 and not mine.is_course
    assert mine.input_shape == (8, 8, 1) and mine.num_classes == 3


def test_run_json_keeps_it_as_it_was():
    mine = experiment.define(dataset("mine", (32, 24, 3)), "cnn", "card", lr_factor=0.5)
    saved = json.loads(json.dumps(mine.to_json()))
    assert experiment.saved({"experiment": saved}) == mine


def test_a_search_saved_before_experiments_is_the_course_s():
    run = {"config": {"dataset": "fashion-mnist", "hypermodel": "mlp", "warm_start": True}}
    old = experiment.saved(run)
    assert old.input_shape == (28, 28, 1) and old.class_names == tuple("0123456789")
    assert old.warm_start == space.course_values("fashion-mnist") and old.lr_factor == 0.32
    assert old.space == "card"


def test_images_too_small_for_the_cnn_are_refused_in_one_line():
    with pytest.raises(DataError, match="mine.npz: the cnn needs images of at least 10x10"):
        experiment.define(dataset("mine", (9, 40, 1)), "cnn", "card")
    assert experiment.define(dataset("mine", (10, 10, 1)), "cnn", "card").input_shape[0] == 10
