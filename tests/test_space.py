"""hypermodels.space: the declared search space and `--set` pins."""

from __future__ import annotations

import re

import keras
import keras_tuner as kt
import pytest

from hypermodels.space import NAMES, PinError, parse_pin, parse_pins, search_space

AUGMENTATION_LAYERS = (
    keras.layers.RandomRotation,
    keras.layers.RandomTranslation,
    keras.layers.RandomZoom,
)


def by_name(hp: kt.HyperParameters) -> dict:
    return {h.name: h for h in hp.space}


# --- the declared space -------------------------------------------------------------------------


def test_names():
    assert NAMES == ("augment_factor", "dropout", "l1", "l2", "learning_rate", "batch_size")


def test_search_space_declares_every_name_once():
    assert [h.name for h in search_space().space] == list(NAMES)


def test_augment_factor_range():
    h = by_name(search_space())["augment_factor"]
    assert isinstance(h, kt.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.sampling) == (0.01, 0.3, "log")


def test_dropout_range():
    h = by_name(search_space())["dropout"]
    assert isinstance(h, kt.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.step) == (0.0, 0.5, 0.1)


@pytest.mark.parametrize("name", ["l1", "l2"])
def test_regularizer_choices(name):
    h = by_name(search_space())[name]
    assert isinstance(h, kt.engine.hyperparameters.Choice)
    assert list(h.values) == [0, 1e-6, 1e-5, 1e-4, 1e-3]


def test_learning_rate_range():
    h = by_name(search_space())["learning_rate"]
    assert isinstance(h, kt.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.sampling) == (1e-4, 1e-2, "log")


def test_batch_size_choices():
    h = by_name(search_space())["batch_size"]
    assert isinstance(h, kt.engine.hyperparameters.Choice)
    assert list(h.values) == [32, 64, 128, 256, 512]
    assert all(isinstance(v, int) for v in h.values)


def test_pinned_name_becomes_fixed():
    free, pinned = by_name(search_space()), by_name(search_space({"dropout": 0.5}))

    assert isinstance(pinned["dropout"], kt.engine.hyperparameters.Fixed)
    assert pinned["dropout"].value == 0.5
    assert search_space({"dropout": 0.5}).get("dropout") == 0.5
    for name in NAMES:
        if name != "dropout":
            assert type(pinned[name]) is type(free[name])
            assert pinned[name].get_config() == free[name].get_config()


def test_pins_outside_searched_range_are_kept():
    hp = search_space({"augment_factor": 0.0, "batch_size": 100, "learning_rate": 10.0})
    assert hp.values["augment_factor"] == 0.0
    assert hp.values["batch_size"] == 100
    assert hp.values["learning_rate"] == 10.0


def test_search_space_rejects_unknown_name():
    with pytest.raises(PinError, match="momentum"):
        search_space({"dropout": 0.1, "momentum": 0.9})


def test_search_space_leaves_pins_argument_alone():
    pins = {"dropout": 0.2}
    search_space(pins)
    assert pins == {"dropout": 0.2}


# --- parse_pin ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "value", "kind"),
    [
        ("augment_factor=0", "augment_factor", 0.0, float),
        ("augment_factor=0.5", "augment_factor", 0.5, float),
        ("dropout=0", "dropout", 0.0, float),
        ("dropout=0.99", "dropout", 0.99, float),
        ("l1=0", "l1", 0.0, float),
        ("l2=1e-3", "l2", 1e-3, float),
        ("learning_rate=10", "learning_rate", 10.0, float),
        ("learning_rate=1e-9", "learning_rate", 1e-9, float),
        ("batch_size=100", "batch_size", 100, int),
        ("batch_size=1", "batch_size", 1, int),
        (" batch_size = 64 ", "batch_size", 64, int),
    ],
)
def test_parse_pin(text, name, value, kind):
    parsed = parse_pin(text)
    assert parsed == (name, value)
    assert type(parsed[1]) is kind


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("dropout", "NAME=VALUE"),
        ("dropout=", "NAME=VALUE"),
        ("=0.5", "NAME=VALUE"),
        ("momentum=0.9", "unknown hyperparameter"),
        ("batch_size=abc", "not int"),
        ("batch_size=1.5", "not int"),
        ("batch_size=0", "outside"),
        ("dropout=abc", "not float"),
        ("dropout=1", "outside [0, 1)"),
        ("dropout=-0.1", "outside"),
        ("augment_factor=1", "outside [0, 1)"),
        ("learning_rate=0", "outside (0, inf)"),
        ("learning_rate=-1e-3", "outside"),
        ("l1=-1", "outside [0, inf)"),
        ("l2=-1e-6", "outside"),
        ("dropout=nan", "outside"),
        ("augment_factor=inf", "outside"),
        ("l1=inf", "outside"),
        ("learning_rate=-inf", "outside"),
    ],
)
def test_parse_pin_rejects(text, words):
    with pytest.raises(PinError, match=re.escape(words)):
        parse_pin(text)


def test_pin_error_is_value_error():
    assert issubclass(PinError, ValueError)


def test_parse_pins():
    assert parse_pins(["dropout=0.5", "batch_size=64"]) == {"dropout": 0.5, "batch_size": 64}
    assert parse_pins([]) == {}


def test_parse_pins_rejects_name_twice():
    with pytest.raises(PinError, match="dropout given twice"):
        parse_pins(["dropout=0.1", "l1=0", "dropout=0.2"])
