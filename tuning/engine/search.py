"""Run the Bayesian search: make the tuner with its oracle and space, and run it."""

from __future__ import annotations

import contextlib
import gc
import io
from collections.abc import Callable, Iterator

import keras_tuner as kt

from hypermodels import get_hypermodel, space
from tuning import experiment as experiments
from tuning.config import TuneConfig
from tuning.data import Split
from tuning.engine import devices, tensorboard
from tuning.engine.budget import search_budget
from tuning.engine.callbacks import training_callbacks
from tuning.engine.evaluate import TestSet
from tuning.engine.oracle import DurableOracle
from tuning.engine.stopping import StopPolicy, rung_epochs
from tuning.engine.tuner import RecordingTuner
from tuning.hardware import training_path
from tuning.layout import TUNER_DIR
from tuning.store import runinfo
from tuning.store.files import read_json


def make_tuner(
    config: TuneConfig,
    experiment: experiments.Experiment | None = None,
    after_trial: Callable[[RecordingTuner], None] | None = None,
    trials_budget: int | None = None,
    oracle_class: type[DurableOracle] = DurableOracle,
    test: TestSet | None = None,
) -> RecordingTuner:
    """Create the tuner, or reload its state from `<results_dir>/tuner/` unless overwriting.

    `experiment` None: the one saved in the results dir's run.json.
    With `trials_budget`, the search raises `TrialBudgetSpent` once that many trials ended.
    With `test`, a trial that may rank among the `top_n` best is scored on it as it ends.
    """
    if experiment is None:  # a tuner of a saved search; a bare one is of a course dataset's
        run = read_json(config.results_dir / runinfo.RUN_FILE) or {"config": config.to_json()}
        experiment = experiments.saved(run)
    if config.overwrite:
        tensorboard.discard_logs(config.results_dir)
    budget = search_budget(config.time_budget, config.results_dir)
    oracle = oracle_class(
        objective=kt.Objective(experiment.objective, experiment.direction),
        max_trials=config.trial_cap,
        num_initial_points=config.initial_points,
        seed=config.seed,
        hyperparameters=declared_space(config),
        warm_start=experiment.warm_start,
        budget=budget,
        fidelity=config.fidelity_gp,
        normal_scores=config.gp_normal_scores,
        restart_seeds=config.gp_restart_seeds,
        rung_scores=config.gp_rung_scores,
        shared_rung=config.gp_shared_rung,
        rungs=rung_epochs(config.rung_epochs, config.eta, config.max_epochs),
        max_epochs=config.max_epochs,
        tune_new_entries=True,
        # RecordingTuner counts failures itself, after the failed trial is saved; KerasTuner's
        # own check raises before saving it, so a resume would run that trial again.
        max_consecutive_failed_trials=None,
    )
    # KerasTuner prints "Reloading Tuner from ..." whenever it reads a saved search back: in
    # every trial process and report, where a resume is the normal case, not news.
    with contextlib.redirect_stdout(io.StringIO()):
        return RecordingTuner(
            hypermodel=get_hypermodel(
                config.hypermodel,
                space=config.space,
                path=training_path(config.training, config.precision, config.epoch_seeds),
                input_shape=experiment.input_shape,
                num_classes=experiment.num_classes,
                model=config.model,
            ),
            oracle=oracle,
            executions_per_trial=config.executions_per_trial,
            distribution_strategy=devices.distribution_strategy(config.distribution),
            directory=str(config.results_dir),
            project_name=TUNER_DIR,
            overwrite=config.overwrite,
            training_seed=config.seed,
            max_failures=config.max_failures,
            stopping=StopPolicy(
                config.early_trial_stop,
                config.grace_epochs,
                config.rung_epochs,
                config.eta,
                config.rung_min_results,
            ),
            budget=budget,
            after_trial=after_trial,
            trials_budget=trials_budget,
            test=test,
            top_n=config.top_n,
            goal=experiment.goal,
            save_every=config.save_every,
        )


def declared_space(config: TuneConfig) -> kt.HyperParameters:
    """The space the oracle starts from, pins `Fixed`: the card's or full space's names.

    A user's HyperModel declares its own names as KerasTuner builds it first; only its pins
    are declared here, so that the oracle never varies them.
    """
    if not config.user_hypermodel:
        return space.search_space(config.pins, config.space, config.hypermodel)
    hp = kt.HyperParameters()
    for name, value in config.pins.items():
        hp.Fixed(name, value)
    return hp


def run_search(tuner: RecordingTuner, config: TuneConfig, data: Split, verbose: int = 2) -> None:
    """Run (or resume) the search until `max_trials` trials have ended."""
    with frozen_garbage():
        tuner.search(
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=config.max_epochs,
            callbacks=training_callbacks(config, tuner.goal),
            verbose=verbose,
        )


@contextlib.contextmanager
def frozen_garbage() -> Iterator[None]:
    """Keep what is alive now out of garbage collection's walks for the block's length.

    A trial collects garbage up to four times (twice as KerasTuner builds its model, once
    after its test evaluation, once at its end), and with TensorFlow loaded each full
    collection walks some 450,000 objects: 0.15 to 0.3 s. What is alive once the search
    starts outlives its trials, so it is frozen out of those walks for the search's length;
    the garbage is collected first, or the model KerasTuner built to list the search space
    would stay frozen with it.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
