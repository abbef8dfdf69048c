"""Optuna's TPE sampler with its SuccessiveHalvingPruner, over the tool's declared space.

Each trial trains through the tool's hypermodel with `tune`'s callbacks, reporting its
val_accuracy to Optuna after every epoch; the best trial's best-epoch weights are tested.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field

from benchmarks.peers.setup import Setup, test_accuracy


@dataclass
class BestSoFar:
    """The best Optuna trial's values and best-epoch weights, to test once the search ends."""

    score: float = -math.inf
    values: dict = field(default_factory=dict)
    weights: list = field(default_factory=list)


def optuna_search(contender: str, setup: Setup) -> float | None:
    """Run Optuna's TPE with successive halving until the budget is spent; test its best."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    setup.clock.start()
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=setup.task.seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(),
    )
    best = BestSoFar()

    def stop_when_spent(study, trial) -> None:
        """After each trial, end the study if the budget is spent: the first always runs."""
        if setup.clock.over():
            study.stop()

    study.optimize(lambda trial: optuna_trial(trial, setup, best), callbacks=[stop_when_spent])
    if not best.weights:
        return None
    model = setup.hypermodel.build(fixed_values(setup.space, best.values))
    model.set_weights(best.weights)
    return test_accuracy(model, setup)


def optuna_trial(trial, setup: Setup, best: BestSoFar) -> float:
    """Train one Optuna trial through the tool's hypermodel; its best epoch's val_accuracy.

    Raises:
        optuna.TrialPruned: the pruner stopped it; it still counts with what it reached.
    """
    import keras
    import optuna

    values = suggest(trial, setup.space)
    hp = fixed_values(setup.space, values)
    # In the order `tune`'s and KerasTuner's trials take: the seed, then KerasTuner's
    # clean slate before the build, so equal values train alike in every contender.
    keras.utils.set_random_seed(setup.task.seed + trial.number)
    keras.backend.clear_session()
    gc.collect()
    model = setup.hypermodel.build(hp)
    kwargs = setup.fit_kwargs()
    report = optuna_report(trial)
    kwargs["callbacks"].append(report)
    data = setup.data
    history = setup.hypermodel.fit(
        hp, model, data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), **kwargs
    )
    curve = [v for v in history.history.get("val_accuracy", []) if math.isfinite(v)]
    score = max(curve) if curve else None
    setup.clock.trial_ended(score)
    if score is not None and score > best.score:
        # EarlyStopping restored the best epoch's weights as fit ended.
        best.score, best.values, best.weights = score, values, model.get_weights()
    if report.pruned:
        raise optuna.TrialPruned()
    return math.nan if score is None else score


def optuna_report(trial):
    """A callback that reports each epoch's val_accuracy to Optuna and stops when pruned."""
    import keras

    class Report(keras.callbacks.Callback):
        """Optuna's pruning protocol, with the trial's best epoch kept when pruned."""

        pruned = False

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            """Report the epoch; a pruned trial stops here, so fit restores its best epoch."""
            value = (logs or {}).get("val_accuracy")
            if value is None:
                return
            trial.report(float(value), step=epoch)
            if trial.should_prune():
                self.pruned, self.model.stop_training = True, True

    return Report()


def suggest(trial, declared) -> dict:
    """Optuna's values for every active name of the declared KerasTuner space."""
    import keras_tuner as kt

    filled = kt.HyperParameters()
    for hp in declared.space:
        filled.merge([hp])
        if filled.is_active(hp):  # a conditional name only where its parent's value allows
            filled.values[hp.name] = suggest_one(trial, hp)
    return dict(filled.values)


def suggest_one(trial, hp):
    """Optuna's value for one KerasTuner hyperparameter, over the same range and sampling.

    Raises:
        ValueError: a sampling Optuna has no counterpart for (reverse_log).
    """
    from keras_tuner.engine import hyperparameters as kinds

    if isinstance(hp, kinds.Fixed):
        return hp.value
    if isinstance(hp, kinds.Boolean):
        return trial.suggest_categorical(hp.name, [False, True])
    if isinstance(hp, kinds.Choice):
        return trial.suggest_categorical(hp.name, list(hp.values))
    if hp.sampling == "reverse_log":
        raise ValueError(f"{hp.name}: Optuna has no reverse_log sampling")
    log = hp.sampling == "log"
    if isinstance(hp, kinds.Int):
        # Optuna takes no step on a log scale (KerasTuner's would be a factor there).
        return trial.suggest_int(
            hp.name, hp.min_value, hp.max_value, step=1 if log else hp.step or 1, log=log
        )
    step = None if log else hp.step
    return trial.suggest_float(hp.name, hp.min_value, hp.max_value, step=step, log=log)


def fixed_values(declared, values: dict):
    """The declared space with `values` set: the hypermodel builds exactly these."""
    import keras_tuner as kt

    hp = kt.HyperParameters.from_config(declared.get_config())
    hp.values.update(values)
    return hp
