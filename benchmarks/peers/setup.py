"""What a peer contender's process trains with: the tool's data, hypermodel and callbacks.

And the run's clock: its budget, counted as `tune` counts its --time-budget, and its
timeline. Keras is imported inside the functions: the parent process imports this module's
neighbours without loading it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.peers import Task

if TYPE_CHECKING:  # a run's own process imports them; the parent never loads Keras
    import keras_tuner as kt

    from hypermodels.base import ImageClassifier
    from tuning.config import TuneConfig
    from tuning.data import Split
    from tuning.engine.evaluate import TestSet


@dataclass
class Clock:
    """The run's budget and timeline: when its process started, its deadline, trial ends."""

    launched: float  # time.time() when the parent started this process
    budget: float
    deadline: float = math.inf
    trials: int = 0
    timeline: list = field(default_factory=list)
    began: bool = False  # whether a trial has started

    def start(self) -> None:
        """Start the budget: the search begins now, as `tune`'s --time-budget counts."""
        self.deadline = time.time() + self.budget

    def over(self) -> bool:
        """Whether the budget is spent."""
        return time.time() >= self.deadline

    def start_trial(self) -> bool:
        """Whether a trial may start now: the first always, as `tune`'s, then within budget."""
        allowed = not self.began or not self.over()
        self.began = True
        return allowed

    def trial_ended(self, score: float | None) -> None:
        """Note a trial's end, and its best val_accuracy where it has one."""
        self.trials += 1
        if score is not None and math.isfinite(score):
            self.timeline.append([round(time.time() - self.launched, 2), float(score)])


@dataclass
class Setup:
    """What a peer's search trains with: the tool's data, hypermodel, space and callbacks."""

    task: Task
    config: TuneConfig
    hypermodel: ImageClassifier  # on the fast path, at the precision `auto` picks
    space: kt.HyperParameters  # the declared search space
    data: Split
    test: TestSet
    clock: Clock
    work: Path

    def callbacks(self) -> list:
        """Fresh callbacks for a trial: `tune`'s own, and the deadline's stop."""
        from tuning.engine.callbacks import training_callbacks
        from tuning.objective import VAL_ACCURACY

        return [*training_callbacks(self.config, VAL_ACCURACY), deadline_stop(self.clock)]

    def fit_kwargs(self) -> dict:
        """The arguments of `fit` apart from the data: the task's epochs, no progress bars."""
        return {"epochs": self.task.max_epochs, "callbacks": self.callbacks(), "verbose": 0}


def make_setup(spec: dict) -> Setup:
    """Load the data as `tune` does and make the tool's hypermodel, space and config."""
    from hypermodels import get_hypermodel
    from tuning.config import TuneConfig
    from tuning.data import hold_out, load_dataset, split
    from tuning.engine.evaluate import test_set
    from tuning.engine.search import declared_space
    from tuning.hardware import training_path

    task = Task(**spec["task"])
    # The course's ReduceLROnPlateau factor for the dataset, as `tune` resolves it.
    config = TuneConfig(**task.settings(), data_dir=Path(spec["data_dir"])).resolve()
    dataset = load_dataset(config.dataset, config.data_dir)
    held = hold_out(dataset, config.val_size, config.seed)  # `tune`'s split, exactly
    hypermodel = get_hypermodel(
        task.hypermodel,
        space=config.space,
        path=training_path(config.training, config.precision),  # fast, precision auto
        input_shape=dataset.input_shape,
        num_classes=dataset.num_classes,
    )
    return Setup(
        task,
        config,
        hypermodel,
        declared_space(config),
        split(held, config.train_limit),
        test_set(held),
        Clock(spec["launched"], task.budget),
        Path(spec["work"]),
    )


def deadline_stop(clock: Clock):
    """A callback that ends fit at the end of the epoch in which the budget ran out."""
    import keras

    class DeadlineStop(keras.callbacks.Callback):
        """Stops training once the deadline passed, at an epoch's end as `tune` stops."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            """Stop after this epoch if the budget is spent."""
            if clock.over():
                self.model.stop_training = True

        def __deepcopy__(self, memo: dict):
            return self  # KerasTuner copies a trial's callbacks; the clock is shared

    return DeadlineStop()


def test_accuracy(model, setup: Setup) -> float | None:
    """The model's accuracy on the test set, scored as `tune` scores its best trials."""
    from tuning.engine.evaluate import test_scores

    return test_scores(model, setup.test)["test_accuracy"]
