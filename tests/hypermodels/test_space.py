"""hypermodels.space: the declared search spaces, pins as Fixed values, the course's values."""

from __future__ import annotations

import keras
import keras_tuner as kt
import pytest

from hypermodels import full, space
from hypermodels.space import (
    COURSE_VALUES,
    NAMES,
    PinError,
    names,
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
