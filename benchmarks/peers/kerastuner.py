"""KerasTuner's BayesianOptimization, Hyperband and RandomSearch on the run's clock.

KerasTuner's tuners have no time budget: a subclass ends the search loop once it is spent,
and seeds each trial as `tune` does.
"""

from __future__ import annotations

import warnings

from benchmarks.peers import MAX_TRIALS
from benchmarks.peers.setup import Clock, Setup, test_accuracy


class DeadlinePassed(Exception):
    """The budget was spent before a trial could start: the search is over."""


def deadline_tuner(base: type) -> type:
    """`base` (a KerasTuner tuner) seeding each trial as `tune` does, stopping at the deadline.

    KerasTuner's tuners have no time budget: no trial starts once it is spent (the search
    loop ends here), and a running one stops at its epoch's end (`deadline_stop`).
    """

    class DeadlineTuner(base):
        """The KerasTuner tuner `base`, on the run's clock and `tune`'s training seeds."""

        def __init__(self, *args, clock: Clock, training_seed: int, **kwargs):
            self.clock, self.training_seed = clock, training_seed
            super().__init__(*args, **kwargs)

        def on_trial_begin(self, trial) -> None:
            """Start the trial, or end the search if the budget is spent."""
            if not self.clock.start_trial():
                raise DeadlinePassed
            super().on_trial_begin(trial)

        def run_trial(self, trial, *args, **kwargs):
            """Train the trial with `tune`'s seed for it: the run's seed plus its number."""
            import keras

            keras.utils.set_random_seed(self.training_seed + int(trial.trial_id))
            return super().run_trial(trial, *args, **kwargs)

        def on_trial_end(self, trial) -> None:
            """Note the trial's end and its score (its best epoch's) on the clock."""
            super().on_trial_end(trial)
            self.clock.trial_ended(self.oracle.get_trial(trial.trial_id).score)

    return DeadlineTuner


def kerastuner_tuner(contender: str, setup: Setup):
    """A KerasTuner tuner of `contender` over the tool's space, budgeted by the clock."""
    import keras_tuner as kt

    common = {
        "hypermodel": setup.hypermodel,
        "objective": "val_accuracy",
        "seed": setup.task.seed,
        "hyperparameters": setup.space,
        "directory": str(setup.work),
        "project_name": "tuner",
        "overwrite": True,
        "clock": setup.clock,
        "training_seed": setup.task.seed,
    }
    if contender == "hyperband":
        # KerasTuner's default factor of 3; the brackets repeat until the budget is spent.
        tuner = deadline_tuner(kt.Hyperband)
        return tuner(max_epochs=setup.task.max_epochs, hyperband_iterations=MAX_TRIALS, **common)
    # BayesianOptimization as the course runs it: KerasTuner's defaults, so its first
    # 3 x 6 trials (3 per searched name) are random.
    base = kt.BayesianOptimization if contender == "bayesian" else kt.RandomSearch
    return deadline_tuner(base)(max_trials=MAX_TRIALS, **common)


def kerastuner_search(contender: str, setup: Setup) -> float | None:
    """Run a KerasTuner search until the budget is spent; its best model's test accuracy."""
    setup.clock.start()
    tuner = kerastuner_tuner(contender, setup)
    data = setup.data
    try:
        tuner.search(
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            **setup.fit_kwargs(),
        )
    except DeadlinePassed:
        pass
    best = tuner.oracle.get_best_trials(1)
    if not best:
        return None
    with warnings.catch_warnings():
        # The checkpoint carries Adam's state too; the best epoch's weights are the point.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.load_model(best[0])
    return test_accuracy(model, setup)
