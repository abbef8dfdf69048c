"""hypermodels.space: the declared search space and `--set` pins."""

from __future__ import annotations

import re

import keras
import keras_tuner as kt
import pytest

from hypermodels import full, space
from hypermodels.space import (
    COURSE_VALUES,
    NAMES,
    PinError,
    names,
    parse_pin,
    parse_pins,
    search_space,
)
from tuning.reports.diagnosis import edge_side

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
    assert (h.min_value, h.max_value, h.sampling) == (0.002, 0.3, "log")


def test_dropout_range():
    h = by_name(search_space())["dropout"]
    assert isinstance(h, kt.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.step) == (0.0, 0.7, 0.1)


@pytest.mark.parametrize("name", ["l1", "l2"])
def test_regularizer_choices(name):
    h = by_name(search_space())[name]
    assert isinstance(h, kt.engine.hyperparameters.Choice)
    assert list(h.values) == [0, 1e-6, 1e-5, 1e-4, 1e-3]


def test_learning_rate_range():
    h = by_name(search_space())["learning_rate"]
    assert isinstance(h, kt.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.sampling) == (2e-5, 1e-2, "log")


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


# --- the full space -----------------------------------------------------------------------------

FULL_NAMES = (
    "activation",
    "initializer",
    "batch_norm",
    "optimizer",
    "weight_decay",
    "bias_l2",
    "activity_l1",
    "filters",
    "lr_schedule",
)


def test_full_space_adds_its_names_after_the_card_names():
    assert names("full") == NAMES + FULL_NAMES
    assert [h.name for h in search_space(space="full").space] == [*NAMES, *FULL_NAMES]


def test_mlp_full_space_has_no_filters():
    assert names("full", "mlp") == NAMES + tuple(n for n in FULL_NAMES if n != "filters")
    assert names("card", "mlp") == NAMES


def test_card_space_is_the_default_and_unchanged():
    assert names() == names("card", "mlp") == NAMES
    assert search_space().get_config() == search_space(space="card").get_config()


def test_unknown_space_is_refused():
    with pytest.raises(ValueError, match="unknown search space 'huge'"):
        names("huge")


@pytest.mark.parametrize(
    ("name", "values", "default"),
    [
        ("activation", ["relu", "leaky_relu", "elu", "gelu"], "relu"),
        ("initializer", ["he_normal", "glorot_uniform"], "glorot_uniform"),
        ("optimizer", ["adam", "adamw", "sgd", "rmsprop"], "adam"),
        ("weight_decay", [0, 1e-5, 1e-4, 1e-3, 1e-2], 0),
        ("bias_l2", [0, 1e-6, 1e-5, 1e-4, 1e-3], 0),
        ("activity_l1", [0, 1e-6, 1e-5, 1e-4, 1e-3], 0),
        ("filters", [32, 64, 96], 64),
        ("lr_schedule", ["plateau", "cosine"], "plateau"),
    ],
)
def test_full_choices(name, values, default):
    h = by_name(search_space(space="full"))[name]
    assert isinstance(h, kt.engine.hyperparameters.Choice)
    assert list(h.values) == values
    assert h.default == default


def test_batch_norm_is_a_boolean_off_by_default():
    h = by_name(search_space(space="full"))["batch_norm"]
    assert isinstance(h, kt.engine.hyperparameters.Boolean)
    assert h.default is False


def test_full_defaults_are_the_card_models_fixed_choices():
    values = search_space(space="full").values
    assert {name: values[name] for name in FULL_NAMES if name != "weight_decay"} == {
        "activation": "relu",
        "initializer": "glorot_uniform",
        "batch_norm": False,
        "optimizer": "adam",
        "bias_l2": 0.0,
        "activity_l1": 0.0,
        "filters": 64,
        "lr_schedule": "plateau",
    }


def test_weight_decay_is_active_only_with_adamw():
    hp = search_space(space="full")
    [condition] = by_name(hp)["weight_decay"].conditions
    assert (condition.name, condition.values) == ("optimizer", ["adamw"])
    assert "weight_decay" not in hp.values  # the default optimizer is adam
    for optimizer, active in [("adam", False), ("adamw", True), ("sgd", False), ("rmsprop", False)]:
        pinned = search_space({"optimizer": optimizer}, space="full")
        assert pinned.is_active("weight_decay") is active
        assert ("weight_decay" in pinned.values) is active


def test_pinned_weight_decay_stays_conditional():
    hp = search_space({"weight_decay": 1e-3}, space="full")
    h = by_name(hp)["weight_decay"]
    assert isinstance(h, kt.engine.hyperparameters.Fixed) and h.value == 1e-3
    assert h.conditions[0].values == ["adamw"]
    assert not hp.is_active("weight_decay")
    hp.values["optimizer"] = "adamw"
    assert hp.is_active("weight_decay")


def test_pinned_string_and_bool_values_become_fixed():
    pins = {"activation": "gelu", "batch_norm": True, "optimizer": "sgd", "lr_schedule": "cosine"}
    hp = search_space(pins, space="full")
    for name, value in pins.items():
        assert isinstance(by_name(hp)[name], kt.engine.hyperparameters.Fixed)
        assert hp.get(name) == value


def test_search_space_refuses_weight_decay_without_adamw():
    with pytest.raises(PinError, match="weight_decay: applies only with optimizer=adamw"):
        search_space({"optimizer": "adam", "weight_decay": 1e-4}, space="full")


def test_card_search_space_refuses_a_full_name():
    with pytest.raises(PinError, match="activation"):
        search_space({"activation": "elu"})


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


@pytest.mark.parametrize("dataset", sorted(COURSE_VALUES))
def test_the_course_values_lie_inside_the_card_ranges(dataset):
    # Else every search the warm start wins ends with edge warnings and cannot look past them.
    declared = by_name(search_space())
    for name, value in COURSE_VALUES[dataset].items():
        assert edge_side(declared[name], value) is None, (name, value)


@pytest.mark.parametrize("space_name", ["card", "full"])
@pytest.mark.parametrize("hypermodel", ["cnn", "mlp"])
def test_each_declaration_declares_the_name_it_is_listed_under(space_name, hypermodel):
    # The name is the CSV column and the resume key: it must not follow a function's name.
    for name, declare in space.declarations(space_name, hypermodel).items():
        hp = kt.HyperParameters()
        if name == full.WEIGHT_DECAY:  # conditional: declared under its parent
            full.optimizer(hp)
        declare(hp)
        assert hp.space[-1].name == name
