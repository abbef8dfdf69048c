"""`--set NAME=VALUE`: names checked against the chosen space, values against what Keras takes."""

from __future__ import annotations

import re

import pytest

from hypermodels.space import ALL_NAMES, FULL_NAMES, PinError
from tuning.pins import PIN_LIMITS, parse_pin, parse_pins


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


def test_every_name_has_a_limit():
    # Read from each name's declaration: a name added to a space can always be pinned.
    assert list(PIN_LIMITS) == list(ALL_NAMES)


def test_pin_error_is_value_error():
    assert issubclass(PinError, ValueError)


def test_parse_pins():
    assert parse_pins(["dropout=0.5", "batch_size=64"]) == {"dropout": 0.5, "batch_size": 64}
    assert parse_pins([]) == {}


def test_parse_pins_rejects_name_twice():
    with pytest.raises(PinError, match="dropout given twice"):
        parse_pins(["dropout=0.1", "l1=0", "dropout=0.2"])


@pytest.mark.parametrize(
    ("text", "name", "value", "kind"),
    [
        ("activation=relu", "activation", "relu", str),
        ("activation=leaky_relu", "activation", "leaky_relu", str),
        ("activation=elu", "activation", "elu", str),
        ("activation=gelu", "activation", "gelu", str),
        ("initializer=he_normal", "initializer", "he_normal", str),
        ("initializer=glorot_uniform", "initializer", "glorot_uniform", str),
        ("batch_norm=on", "batch_norm", True, bool),
        ("batch_norm=off", "batch_norm", False, bool),
        ("batch_norm=True", "batch_norm", True, bool),
        ("batch_norm=false", "batch_norm", False, bool),
        ("batch_norm=1", "batch_norm", True, bool),
        ("batch_norm=0", "batch_norm", False, bool),
        ("optimizer=adam", "optimizer", "adam", str),
        ("optimizer=adamw", "optimizer", "adamw", str),
        ("optimizer=sgd", "optimizer", "sgd", str),
        ("optimizer=rmsprop", "optimizer", "rmsprop", str),
        ("weight_decay=0", "weight_decay", 0.0, float),
        ("weight_decay=0.05", "weight_decay", 0.05, float),
        ("bias_l2=1e-4", "bias_l2", 1e-4, float),
        ("activity_l1=0", "activity_l1", 0.0, float),
        ("filters=96", "filters", 96, int),
        ("filters=16", "filters", 16, int),
        ("lr_schedule=plateau", "lr_schedule", "plateau", str),
        ("lr_schedule=cosine", "lr_schedule", "cosine", str),
        (" optimizer = adamw ", "optimizer", "adamw", str),
    ],
)
def test_parse_full_pin(text, name, value, kind):
    parsed = parse_pin(text, space="full")
    assert parsed == (name, value)
    assert type(parsed[1]) is kind


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("activation=sigmoid", "'sigmoid' is not one of relu, leaky_relu, elu, gelu"),
        ("activation=ReLU", "is not one of"),
        ("initializer=zeros", "is not one of he_normal, glorot_uniform"),
        ("batch_norm=maybe", "'maybe' is not one of on, off, true, false, 1, 0"),
        ("optimizer=adagrad", "is not one of adam, adamw, sgd, rmsprop"),
        ("lr_schedule=step", "is not one of plateau, cosine"),
        ("weight_decay=-1e-4", "outside [0, inf)"),
        ("weight_decay=abc", "not float"),
        ("bias_l2=-1", "outside"),
        ("activity_l1=inf", "outside"),
        ("filters=0", "outside [1, inf)"),
        ("filters=32.5", "not int"),
        ("momentum=0.9", "unknown hyperparameter 'momentum'"),
    ],
)
def test_parse_full_pin_rejects(text, words):
    with pytest.raises(PinError, match=re.escape(words)):
        parse_pin(text, space="full")


@pytest.mark.parametrize("name", FULL_NAMES)
def test_full_names_are_refused_in_the_card_space(name):
    with pytest.raises(PinError, match=re.escape(f"{name}: only in the full search space")):
        parse_pin(f"{name}=0")


def test_filters_is_refused_for_the_mlp():
    with pytest.raises(PinError, match="filters: only the cnn has it, not the mlp"):
        parse_pin("filters=32", space="full", hypermodel="mlp")


def test_unknown_name_lists_the_names_of_the_chosen_space():
    with pytest.raises(PinError) as card:
        parse_pin("momentum=0.9")
    with pytest.raises(PinError) as full:
        parse_pin("momentum=0.9", space="full", hypermodel="mlp")
    assert "activation" not in str(card.value) and "batch_size" in str(card.value)
    assert "lr_schedule" in str(full.value) and "filters" not in str(full.value)


def test_parse_pins_with_the_full_space():
    pins = parse_pins(["optimizer=adamw", "weight_decay=1e-3", "batch_norm=on"], space="full")
    assert pins == {"optimizer": "adamw", "weight_decay": 1e-3, "batch_norm": True}


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_parse_pins_refuses_weight_decay_without_adamw(optimizer):
    texts = [f"optimizer={optimizer}", "weight_decay=1e-3"]
    with pytest.raises(PinError, match=f"but optimizer is pinned to {optimizer}"):
        parse_pins(texts, space="full")
