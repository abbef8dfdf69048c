"""Edge warnings and the failed share: what the closing summary says about the search."""

from __future__ import annotations

import keras_tuner as kt
import pytest

from hypermodels.base import ImageClassifier
from hypermodels.space import search_space
from tuning.cli.main import main
from tuning.reports.diagnosis import edge_side, edge_warnings, range_position
from tuning.reports.plots import BEST_SO_FAR_PNG, HYPERPARAMETERS_PNG, LEARNING_CURVES_PNG

from helpers import snapshot, tune_args

PNGS = (LEARNING_CURVES_PNG, HYPERPARAMETERS_PNG, BEST_SO_FAR_PNG)

FAST = ["--train-limit", "500", "--quiet"]


def ranges() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Float("linear", 10.0, 20.0)
    hp.Float("logarithmic", 1e-4, 1e-2, sampling="log")
    hp.Int("steps", 0, 100)  # a low end of 0 means off: no edge there
    hp.Choice("batch", [256, 32, 128, 64, 512])  # ordered by value, not by declaration
    hp.Choice("name", ["relu", "elu", "gelu"])
    hp.Boolean("switch")
    hp.Fixed("pinned", 1e-3)
    return hp


@pytest.mark.parametrize(
    ("name", "value", "side"),
    [
        ("linear", 10.5, "low"),  # 5% of the way up
        ("linear", 15.0, None),
        ("linear", 19.5, "high"),  # 95%
        ("logarithmic", 1e-4 * 100**0.05, "low"),  # 5% in log space: 1.26e-4
        ("logarithmic", 1e-4 * 100**0.5, None),  # 1e-3, the log middle
        ("logarithmic", 1e-4 * 100**0.95, "high"),
        ("logarithmic", 1.1e-3, None),  # 11% of the linear range, 52% of the log one
        ("steps", 5, None),
        ("steps", 95, "high"),
        ("batch", 32, "low"),
        ("batch", 128, None),
        ("batch", 512, "high"),
        ("name", "relu", None),
        ("name", "gelu", None),
        ("switch", True, None),
        ("pinned", 1e-3, None),
    ],
)
def test_edge_is_the_outer_tenth_of_a_range_measured_as_it_is_sampled(name, value, side):
    (declared,) = [h for h in ranges().space if h.name == name]
    assert edge_side(declared, value) == side


def test_position_of_ordered_choices_is_their_rank():
    (batch,) = [h for h in ranges().space if h.name == "batch"]
    assert [range_position(batch, v) for v in (32, 64, 128, 256, 512)] == [0, 0.25, 0.5, 0.75, 1]


def test_warnings_name_exactly_the_values_on_an_edge():
    values = {
        "linear": 19.5,
        "logarithmic": 1e-3,
        "steps": 0,
        "batch": 32,
        "name": "gelu",
        "switch": False,
        "pinned": 1e-3,
    }
    lines = edge_warnings(ranges(), values)
    assert len(lines) == 2
    assert lines[0].startswith("warning: the best trial's linear 19.5 lies in the highest 10%")
    assert "range 10 to 20" in lines[0]
    assert "batch 32 lies in the lowest 10% of its choices 32, 64, 128, 256, 512" in lines[1]


def test_card_and_full_space_edges():
    hp = search_space(space="full")
    best = {
        "augment_factor": 0.29,  # log range 0.01 to 0.3: the top 10% starts at 0.21
        "dropout": 0.0,  # off: no warning
        "l1": 0.0,
        "l2": 1e-3,  # the largest penalty
        "learning_rate": 1e-3,
        "batch_size": 128,
        "activation": "gelu",
        "batch_norm": True,
        "optimizer": "sgd",  # weight_decay is inactive: not in the values at all
        "filters": 96,
    }
    names = [line.split()[4] for line in edge_warnings(hp, best)]
    assert names == ["augment_factor", "l2", "filters"]
    assert edge_warnings(search_space({"l2": 1e-3}), {"l2": 1e-3}) == []  # pinned


def test_failed_share_and_reason_in_the_summary(tmp_path, data_dir, capsys, monkeypatch):
    real_fit = ImageClassifier.fit
    calls = []

    def fit_out_of_memory_once(self, hp, model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("no room for the batch")
        return real_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(ImageClassifier, "fit", fit_out_of_memory_once)
    args = tune_args(tmp_path, data_dir, "--max-trials", "3", "--max-epochs", "1", *FAST)
    assert main([*args, "--top-n", "1"]) == 0  # the summary is read, not the test results
    out = capsys.readouterr().out
    assert "failed trials: 1 of 3 (33%), e.g. trial 1: MemoryError: no room for the batch" in out


def test_diverged_trials_are_counted_as_failed(tmp_path, data_dir, capsys):
    args = tune_args(tmp_path, data_dir, "--max-trials", "2", "--max-epochs", "1", *FAST)
    assert main([*args, "--set", "learning_rate=1e30", "--max-failures", "5"]) == 0
    out = capsys.readouterr().out
    assert "failed trials: 2 of 2 (100%), e.g. trial 0: loss became nan in epoch 1" in out
    assert "no trial completed" in out and "warning:" not in out  # no best, so no edge
    for name in PNGS:  # drawn with failed trials only
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    before = snapshot(tmp_path)
    assert main(["report", str(tmp_path)]) == 2  # nothing finished: nothing to report
    assert "has no finished trial yet (2 failed): nothing to report" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
