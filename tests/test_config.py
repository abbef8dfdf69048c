"""Run configuration: derived defaults and the settings a resume must keep."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import pytest

from hypermodels.space import names
from tuning.cli.options import build_parser
from tuning.config import SEARCH_KEYS, TuneConfig, differing_keys


@pytest.mark.parametrize(("max_trials", "initial"), [(2, 2), (5, 2), (10, 3), (30, 10)])
def test_initial_points_default_leaves_most_trials_to_the_gaussian_process(max_trials, initial):
    assert TuneConfig("mnist", max_trials=max_trials).resolve().initial_points == initial


def test_explicit_values_win_over_derived_defaults():
    config = TuneConfig(
        "mnist", initial_points=7, results_dir=Path("/tmp/x"), lr_factor=0.5
    ).resolve()
    assert (config.initial_points, config.results_dir, config.lr_factor) == (7, Path("/tmp/x"), 0.5)


@pytest.mark.parametrize(("dataset", "factor"), [("mnist", 0.3787), ("fashion-mnist", 0.32)])
def test_dataset_decides_default_results_dir_and_lr_factor(dataset, factor):
    config = TuneConfig(dataset).resolve()
    assert config.results_dir == Path("results") / dataset
    assert config.lr_factor == factor


def test_to_json_holds_pins_and_the_declared_space():
    values = TuneConfig("mnist", pins={"dropout": 0.5}).resolve().to_json()
    assert values["pins"] == {"dropout": 0.5}
    names = [hp["config"]["name"] for hp in values["search_space"]["space"]]
    assert names == ["augment_factor", "dropout", "l1", "l2", "learning_rate", "batch_size"]
    assert set(SEARCH_KEYS) <= set(values)


def test_to_json_holds_the_chosen_space():
    card = TuneConfig("mnist").resolve().to_json()
    full = TuneConfig("mnist", space="full").resolve().to_json()
    mlp = TuneConfig("mnist", space="full", hypermodel="mlp").resolve().to_json()
    assert (card["space"], full["space"]) == ("card", "full")
    assert [hp["config"]["name"] for hp in full["search_space"]["space"]] == list(names("full"))
    assert "filters" not in [hp["config"]["name"] for hp in mlp["search_space"]["space"]]
    assert differing_keys(card, full) == ["space", "search_space"]


def test_a_search_saved_before_spaces_existed_resumes_as_card():
    saved = TuneConfig("mnist").resolve().to_json()
    del saved["space"]
    assert differing_keys(saved, TuneConfig("mnist").resolve().to_json()) == []
    full = TuneConfig("mnist", space="full").resolve().to_json()
    assert differing_keys(saved, full) == ["space", "search_space"]


def test_differing_keys_ignores_budget_and_paths():
    base = TuneConfig("mnist").resolve().to_json()
    same_search = TuneConfig("mnist", max_trials=30, top_n=3, results_dir=Path("/elsewhere"))
    assert differing_keys(base, same_search.resolve().to_json()) == ["initial_points"]
    other = TuneConfig("mnist", seed=1, train_limit=100, pins={"l1": 0.0}).resolve().to_json()
    assert differing_keys(base, other) == ["train_limit", "seed", "pins"]  # declaration order


def test_every_setting_is_declared_once_and_the_parser_follows():
    # The options, the config-file keys and the resume keys all come from TuneConfig's fields.
    parser = build_parser(defaultdict(lambda: None))
    tune = parser.parse_args(["tune"])
    for field in dataclasses.fields(TuneConfig):
        option = field.metadata["option"]
        assert (option is not None) == hasattr(tune, field.name) or field.name == "pins"
        if option is not None and field.name != "dataset":
            assert getattr(tune, field.name) == field.default, field.name
    assert set(SEARCH_KEYS) - {"search_space"} == {
        f.name for f in dataclasses.fields(TuneConfig) if f.metadata["search"]
    }
    assert "time_budget" not in SEARCH_KEYS and "quiet" not in SEARCH_KEYS
