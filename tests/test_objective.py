"""The objective: a metric's name, which way is better, and the oriented scores rules compare."""

from __future__ import annotations

import pytest

from tuning import objective
from tuning.objective import Objective


def test_a_bare_name_leaves_the_direction_to_be_inferred():
    assert objective.parse("val_auc") == ("val_auc", None)
    assert objective.parse("val_f1:max") == ("val_f1", "max")


@pytest.mark.parametrize("text", ["", "val auc", "val_loss:down", ":max", "1st"])
def test_what_is_no_objective_is_refused(text):
    with pytest.raises(ValueError, match="metric name|direction"):
        objective.parse(text)


def test_the_built_in_networks_rank_by_what_they_log():
    assert objective.built_in("val_accuracy") == Objective("val_accuracy", "max")
    assert objective.built_in("val_loss") == Objective("val_loss", "min")
    assert objective.built_in("loss:max") == Objective("loss", "max")
    with pytest.raises(ValueError, match="log val_accuracy, val_loss, accuracy, loss only"):
        objective.built_in("val_auc")


def test_lower_is_better_turns_the_scores_over():
    loss = Objective("val_loss", "min")
    curve = [0.9, 0.4, 0.5, 0.4]
    assert loss.best(curve) == 0.4
    assert loss.best_epoch(curve) == 2  # the first of a tie, as np.argmin
    assert loss.oriented(curve) == (-0.9, -0.4, -0.5, -0.4)
    assert Objective().best_epoch(curve) == 1 and Objective().best_epoch([]) is None
    assert (loss.trails, Objective().trails) == ("above", "below")
