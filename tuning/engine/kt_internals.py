"""KerasTuner's private members this project relies on, each behind a public name, in one place.

Every import from `keras_tuner.src` and every `._name` used on a KerasTuner object lives here,
with why it is needed; the rest of the project uses KerasTuner's public API and the names
below. Each was checked against KerasTuner `CHECKED_VERSION`. `PRIVATE_MEMBERS` lists them,
and tests/engine/test_kt_internals.py fails, naming the member, where the installed KerasTuner
lacks one: a release that renames one breaks that test, not a search.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras_tuner as kt
import numpy as np

# KerasTuner exports neither its debug switch nor its distributed mode's chief and protocol.
from keras_tuner.src import config as _config
from keras_tuner.src import protos
from keras_tuner.src.distribute import utils as _distribute
from keras_tuner.src.distribute.oracle_chief import OracleServicer, exit_chief

# Nor the class that prints each trial's start and end banners.
from keras_tuner.src.engine.oracle import Display

# Nor the callback that saves a trial's best epoch, whose best score a resumed trial keeps.
from keras_tuner.src.engine.tuner_utils import SaveBestEpoch  # noqa: F401 - for midtrial

CHECKED_VERSION = "1.4.8"

# (where, member): what the installed KerasTuner must have, where is a class or module name
# that tests/engine/test_kt_internals.py knows how to make.
PRIVATE_MEMBERS = (
    ("keras_tuner.src.config", "DEBUG"),
    ("keras_tuner.src.distribute.utils", "has_chief_oracle"),
    ("keras_tuner.src.distribute.utils", "is_chief_oracle"),
    ("keras_tuner.src.distribute.oracle_chief", "OracleServicer"),
    ("keras_tuner.src.distribute.oracle_chief", "exit_chief"),
    ("keras_tuner.src.engine.oracle", "Display"),
    ("keras_tuner.src.engine.tuner_utils", "SaveBestEpoch"),
    ("keras_tuner.src.protos", "get_service_grpc"),
    ("keras_tuner.src.protos", "get_service"),
    ("OracleServicer", "stop_triggered"),
    ("BayesianOptimizationOracle", "_retry_queue"),
    ("BayesianOptimizationOracle", "_display"),
    ("BayesianOptimizationOracle", "_record_values"),
    ("BayesianOptimizationOracle", "_get_oracle_fname"),
    ("BayesianOptimizationOracle", "_get_trial_dir"),
    ("BayesianOptimizationOracle", "_save_trial"),
    ("BayesianOptimizationOracle", "_duplicate"),
    ("BayesianOptimizationOracle", "_random_populate_space"),
    ("BayesianOptimizationOracle", "_random_values"),
    ("BayesianOptimizationOracle", "_vectorize_trials"),
    ("BayesianOptimizationOracle", "_get_hp_bounds"),
    ("BayesianOptimizationOracle", "_nonfixed_space"),
    ("BayesianOptimizationOracle", "_vector_to_values"),
    ("BayesianOptimizationOracle", "_random_state"),
    ("BayesianOptimizationOracle", "_seed_state"),
    ("BayesianOptimizationOracle", "_make_gpr"),
    ("Tuner", "_is_worker"),
    ("Tuner", "_get_tuner_fname"),
    ("Tuner", "_get_checkpoint_fname"),
    ("Tuner", "_build_and_fit_model"),
)


def quiet_trial_tracebacks() -> None:
    """Stop KerasTuner printing a traceback for every failed trial, a diverged loss included.

    We print one line per failure, and a traceback only where something raised. The switch
    is KerasTuner's own `config.DEBUG`, not exported.
    """
    _config.DEBUG = False


def has_chief_oracle() -> bool:
    """Whether KerasTuner's environment variables describe a distributed search."""
    return _distribute.has_chief_oracle()


def is_chief_oracle() -> bool:
    """Whether this process is the chief of KerasTuner's distributed search."""
    return _distribute.is_chief_oracle()


def chief_address() -> str:
    """HOST:PORT of the chief, as KerasTuner's environment variables name it."""
    return f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"


def service_grpc():  # noqa: ANN201 - a generated gRPC module
    """KerasTuner's generated gRPC service module, to serve an oracle on our own server."""
    return protos.get_service_grpc()


def service():  # noqa: ANN201 - a generated protobuf module
    """KerasTuner's generated messages of that service: its requests and responses."""
    return protos.get_service()


def workers_told_to_stop(servicer: OracleServicer, oracle: kt.Oracle) -> bool:
    """KerasTuner's own test that a distributed search is over.

    Every worker that asked for a trial was answered STOPPED (the servicer notes that), and
    no trial still runs (`exit_chief`).
    """
    return servicer.stop_triggered and exit_chief(oracle)


def nobody_working(oracle: kt.Oracle) -> bool:
    """KerasTuner's half of that test: no trial runs, and no worker waits for one."""
    return exit_chief(oracle)


class BayesianOracle(kt.oracles.BayesianOptimizationOracle):
    """KerasTuner's Bayesian oracle, its private members reached by public names.

    KerasTuner calls two of them itself (`_duplicate`, `_save_trial`); they are routed to
    `is_tried` and `save_trial`, which a subclass overrides.
    """

    def __init__(self, *args, seed: int | None = None, **kwargs):
        super().__init__(*args, seed=seed, **kwargs)
        # KerasTuner reads a seed of 0 as none (`seed or random.randint(1, 10000)`): each
        # `tune --seed 0` drew other trials. 0 is a seed here; its generator, the random
        # draws' seed state and the GP's seed follow it, as they follow any other seed.
        if seed == 0:
            self.seed = self._seed_state = 0
            self._random_state = np.random.RandomState(0)
            self.gpr = self._make_gpr()

    @property
    def retry_queue(self) -> list[str]:
        """Ids of trials started but not ended, which KerasTuner hands out again on resume."""
        return self._retry_queue

    @retry_queue.setter
    def retry_queue(self, trial_ids: list[str]) -> None:
        self._retry_queue = trial_ids

    @property
    def display(self) -> Display:
        """What prints each trial's start and end: KerasTuner's tables and banners, by default."""
        return self._display

    @display.setter
    def display(self, display: Display) -> None:
        self._display = display

    @property
    def random_state(self) -> np.random.RandomState:
        """KerasTuner's generator for the GP's restarts: made with the oracle, never saved."""
        return self._random_state

    def record_values(self, trial: kt.engine.trial.Trial) -> None:
        """Note `trial`'s values as tried, as KerasTuner does when a trial ends."""
        self._record_values(trial)

    def oracle_file(self) -> Path:
        """Where KerasTuner keeps the oracle's state (oracle.json)."""
        return Path(self._get_oracle_fname())

    def trial_dir(self, trial_id: str) -> Path:
        """The folder of a trial's trial.json and checkpoints."""
        return Path(self._get_trial_dir(trial_id))

    def random_populate_space(self) -> dict:
        """KerasTuner's random proposal: untried values (by `is_tried`), else STOPPED."""
        return self._random_populate_space()

    def random_values(self) -> dict | None:
        """Random untried values (by `is_tried`), None after KerasTuner's tries run out."""
        return self._random_values()

    def vectorize_trials(self) -> tuple[np.ndarray, np.ndarray]:
        """The ended trials as the GP's inputs and scores, as KerasTuner fits them."""
        return self._vectorize_trials()

    def searched_space(self) -> list:
        """The declared names the GP models: all but the pinned (`Fixed`) ones, in order."""
        return self._nonfixed_space()

    def hp_bounds(self) -> np.ndarray:
        """The bounds of the GP's search box, one row per hyperparameter."""
        return self._get_hp_bounds()

    def vector_to_values(self, vector: np.ndarray) -> dict:
        """A point of the GP's box as hyperparameter values, snapped to the space."""
        return self._vector_to_values(vector)

    def is_tried(self, values: dict) -> bool:
        """Whether a trial already ran `values`: KerasTuner's exact comparison."""
        return super()._duplicate(values)

    def save_trial(self, trial: kt.engine.trial.Trial) -> None:
        """Write a trial's trial.json: KerasTuner's way."""
        super()._save_trial(trial)

    def _duplicate(self, values: dict) -> bool:
        return self.is_tried(values)

    def _save_trial(self, trial: kt.engine.trial.Trial) -> None:
        self.save_trial(trial)


class Tuner(kt.Tuner):
    """KerasTuner's tuner, its private members reached by public names.

    KerasTuner calls `_get_tuner_fname` and `_build_and_fit_model` itself; they are routed
    to `tuner_file` and `build_and_fit`, which a subclass overrides.
    """

    def build_and_fit(self, trial: kt.engine.trial.Trial, *args, **kwargs):  # noqa: ANN201
        """Build and train one execution of `trial`: KerasTuner's way (AutoKeras's hook)."""
        return super()._build_and_fit_model(trial, *args, **kwargs)

    def _build_and_fit_model(self, trial: kt.engine.trial.Trial, *args, **kwargs):  # noqa: ANN202
        return self.build_and_fit(trial, *args, **kwargs)

    def is_worker(self) -> bool:
        """Whether this tuner is a worker of a distributed search (its oracle is the chief's)."""
        return self._is_worker()

    def checkpoint_path(self, trial_id: str) -> Path:
        """Where KerasTuner saves a trial's best-epoch weights."""
        return Path(self._get_checkpoint_fname(trial_id))

    def tuner_file(self) -> Path:
        """Where KerasTuner keeps the tuner's state; a search is reloaded only if it exists."""
        return Path(super()._get_tuner_fname())

    def _get_tuner_fname(self) -> str:
        return str(self.tuner_file())
