"""hypermodels.hyperparameter: each name declared once, and the registry complete."""

from __future__ import annotations

import keras_tuner as kt
import pytest

from hypermodels import full, space
from hypermodels.hyperparameter import (
    COURSE_DATASETS,
    Hyperparameter,
    PinChoice,
    PinLimit,
    PinSwitch,
)
from hypermodels.space import HYPERPARAMETERS, course_values, off_values

DECLARED = list(HYPERPARAMETERS.values())


def searched_values(declared: kt.engine.hyperparameters.HyperParameter) -> list:
    """Values the oracle may try: every choice, or a range's ends and default.

    A limit is an interval, so one that holds a range's ends holds the whole range.
    """
    if isinstance(declared, kt.engine.hyperparameters.Boolean):
        return [True, False]
    if isinstance(declared, kt.engine.hyperparameters.Choice):
        return [*declared.values, declared.default]
    return [declared.min_value, declared.max_value, declared.default]


def declared(h: Hyperparameter) -> kt.engine.hyperparameters.HyperParameter:
    """The KerasTuner hyperparameter `h.declare` adds, declared under its parent if conditional."""
    hp = kt.HyperParameters()
    if h.condition:
        HYPERPARAMETERS[h.condition["parent_name"]].declare(hp)
    h.declare(hp)
    assert hp.space[-1].name == h.name
    return hp.space[-1]


def assert_parses(h: Hyperparameter, value) -> None:
    parsed = h.limit.parse(h.name, str(value))
    assert parsed == value and type(parsed) is type(value), (h.name, value, parsed)


# --- the registry is complete -------------------------------------------------------------------


def test_every_name_of_every_space_is_declared_once():
    assert list(HYPERPARAMETERS) == list(space.ALL_NAMES)
    assert len(set(space.ALL_NAMES)) == len(space.ALL_NAMES)
    assert all(name == h.name for name, h in HYPERPARAMETERS.items())


def test_a_hyperparameter_cannot_be_declared_without_a_limit():
    with pytest.raises(TypeError):
        Hyperparameter("momentum", space.dropout, course=0.9)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="momentum: limit must be"):
        Hyperparameter("momentum", space.dropout, None, course=0.9)  # type: ignore[arg-type]


@pytest.mark.parametrize("h", DECLARED, ids=lambda h: h.name)
@pytest.mark.parametrize("dataset", COURSE_DATASETS)
def test_each_limit_parses_the_course_value(h, dataset):
    assert_parses(h, h.course_value(dataset))


@pytest.mark.parametrize("h", DECLARED, ids=lambda h: h.name)
def test_each_limit_parses_every_searched_value(h):
    for value in searched_values(declared(h)):
        assert_parses(h, value)


@pytest.mark.parametrize("h", [h for h in DECLARED if h.off is not None], ids=lambda h: h.name)
def test_each_limit_parses_the_off_value(h):
    assert_parses(h, h.off)


@pytest.mark.parametrize("h", full.HYPERPARAMETERS, ids=lambda h: h.name)
def test_the_full_names_course_values_are_their_declared_defaults(h):
    default = declared(h).default
    for dataset in COURSE_DATASETS:
        assert h.course_value(dataset) == default


# --- what derives from the declarations ---------------------------------------------------------


def test_course_values_per_dataset():
    assert course_values("mnist") == {
        "augment_factor": 0.04,
        "dropout": 0.5,
        "l1": 0.0,
        "l2": 0.0,
        "learning_rate": 0.00168,
        "batch_size": 256,
    }
    assert course_values("fashion-mnist") == {
        **course_values("mnist"),
        "augment_factor": 0.01,
        "learning_rate": 0.00015,
    }
    assert space.COURSE_VALUES == {d: course_values(d) for d in COURSE_DATASETS}


def test_course_values_refuses_an_unknown_dataset():
    with pytest.raises(ValueError, match="no course values for dataset 'cifar10'"):
        course_values("cifar10")


def test_off_values():
    assert off_values() == {"augment_factor": 0.0, "dropout": 0.0, "l1": 0.0, "l2": 0.0}


def test_ablation_variants_keep_their_published_names():
    # ablation.csv files already published name these variants: they must not change.
    assert space.ABLATION_VARIANTS == {
        "best": (),
        "no_augmentation": ("augment_factor",),
        "no_dropout": ("dropout",),
        "no_l1": ("l1",),
        "no_l2": ("l2",),
        "all_off": ("augment_factor", "dropout", "l1", "l2"),
    }
    assert list(space.ABLATION_VARIANTS) == list(space.ablation_variants())


def test_conditions_and_only_in_come_from_the_declarations():
    assert full.CONDITIONS == {
        "weight_decay": {"parent_name": "optimizer", "parent_values": ["adamw"]}
    }
    assert full.ONLY_IN == {"filters": "cnn"}


# --- a declaration refuses what it cannot use ---------------------------------------------------


def test_a_technique_needs_an_off_value():
    with pytest.raises(ValueError, match="technique 'momentum' needs an off value"):
        Hyperparameter("m", space.dropout, PinLimit(float, 0.0), course=0.0, technique="momentum")


def test_per_dataset_course_values_name_exactly_the_course_datasets():
    with pytest.raises(ValueError, match="course values must name mnist, fashion-mnist"):
        Hyperparameter("m", space.dropout, PinLimit(float, 0.0), course={"mnist": 0.1})


def test_limits_are_the_pin_classes():
    kinds = {type(h.limit) for h in DECLARED}
    assert kinds == {PinLimit, PinChoice, PinSwitch}
