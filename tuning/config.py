"""One explicit run configuration: defaults in one place, derived values resolved with reasons."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from hypermodels import space
from tuning.layout import portable_path

# The rules that may end a trial early (tuning.engine.stopping), for --early-trial-stop.
STOP_RULES = ("asha", "median", "off")
# ReduceLROnPlateau factors the course tuned per dataset (0.3787 MNIST, 0.32 Fashion-MNIST).
LR_FACTORS = {"mnist": 0.3787, "fashion-mnist": 0.32}

# Settings that decide which trials the search runs; a resume must not change any of them,
# because KerasTuner would silently keep the saved oracle and mix incomparable trials.
SEARCH_KEYS = (
    "dataset",
    "hypermodel",
    "space",
    "pins",
    "search_space",
    "seed",
    "initial_points",
    "executions_per_trial",
    "max_epochs",
    "train_limit",
    "lr_factor",
    "lr_patience",
    "lr_min_delta",
    "min_lr",
    "early_stop_patience",
    "early_stop_min_delta",
    "early_trial_stop",
    "grace_epochs",
    "rung_epochs",
    "eta",
    "warm_start",
)


@dataclass
class TuneConfig:
    """Everything one `tune` run needs; `resolve()` fills the values derived from others."""

    dataset: str
    hypermodel: str = "cnn"
    space: str = "card"  # the search space: card, or full (every technique of the course)
    max_trials: int = 10
    initial_points: int | None = None  # None: a third of max_trials, at least 2
    max_epochs: int = 100
    executions_per_trial: int = 1
    train_limit: int | None = None
    top_n: int = 10
    seed: int = 23
    results_dir: Path | None = None  # None: results/<dataset>
    data_dir: Path | None = None
    pins: dict[str, space.Value] = field(default_factory=dict)
    overwrite: bool = False
    lr_factor: float | None = None  # None: the course's factor for the dataset
    lr_patience: int = 5
    lr_min_delta: float = 1e-4
    min_lr: float = 1e-5
    early_stop_patience: int = 10
    early_stop_min_delta: float = 1e-5
    # The rule that ends trials that cannot win (tuning.engine.stopping): `asha`, successive halving
    # at rungs of `rung_epochs` * eta**k epochs; `median`, a trial trailing the finished
    # trials' median after `grace_epochs` epochs; or `off`. asha is the default by
    # measurement: the same search in half median's time or less (docs/speed.md).
    early_trial_stop: str = "asha"
    grace_epochs: int = 10  # as long as EarlyStopping's patience: the same trust in a plateau
    rung_epochs: int = 3
    eta: int = 3
    # The first trial trains the course's configuration (hypermodels.space.COURSE_VALUES), so
    # the search starts from a known good point and the stopping rules a strong reference.
    warm_start: bool = True
    max_failures: int = 3  # consecutive failed trials that stop the search
    # Seconds the search's trials may take over all its runs (tuning.engine.budget); None: no limit.
    # Not a search setting: a resume with a larger budget goes on.
    time_budget: float | None = None
    keep_checkpoints: int | None = None  # None: top_n, the weights evaluation needs
    # How trials train (tuning.hardware.training_path): `fast`, or `plain` as the guides write
    # it; `precision` auto picks the fastest one this machine computes natively. Neither
    # changes what is searched, so a resume may change them.
    training: str = "fast"
    precision: str = "auto"
    # False: each trial in a fresh process, the only bound on TensorFlow's memory growth.
    in_process: bool = False
    # True: no Keras progress bars (verbose=0); the one-line progress per trial stays. Not a
    # search setting: a resume may change it.
    quiet: bool = False
    # None of these three change which trials run, so a resume may switch them.
    tensorboard: bool = False  # per-trial TensorBoard logs with HParams, <results_dir>/tensorboard
    workers: int | None = None  # a distributed search: this process serves, N local workers train
    distribution: str | None = None  # "mirrored": each trial trains on every local GPU

    def resolve(self) -> TuneConfig:
        """Return a copy with every derived default filled in."""
        return dataclasses.replace(
            self,
            # KerasTuner's default is 3 random trials per hyperparameter (18 here), which
            # would leave a 10-trial search random throughout; keep most for the GP.
            initial_points=self.initial_points or max(2, self.max_trials // 3),
            results_dir=Path(self.results_dir or Path("results") / self.dataset),
            lr_factor=self.lr_factor or LR_FACTORS[self.dataset],
            keep_checkpoints=self.keep_checkpoints or self.top_n,
        )

    def to_json(self) -> dict:
        """The configuration as JSON-ready values, with the declared (unpinned) search space."""
        values = dataclasses.asdict(self)
        for key in ("results_dir", "data_dir"):
            values[key] = None if values[key] is None else portable_path(values[key])
        # The space as the code declares it, before pins: a change here means the code changed.
        declared = space.search_space(space=self.space, hypermodel=self.hypermodel)
        values["search_space"] = declared.get_config()
        return values


# Values of search settings that older run.json files lack: they were searched before the
# setting existed, which is what these defaults mean.
SAVED_BEFORE = {
    "space": "card",
    "early_trial_stop": False,
    "grace_epochs": None,
    "warm_start": False,
}


def stop_rule(saved: str | bool) -> str:
    """The early-stopping rule a saved setting means: searches saved before ASHA kept a bool."""
    if isinstance(saved, bool):
        return "median" if saved else "off"
    return saved


def search_settings(config_json: dict) -> dict:
    """The part of a saved configuration that a resumed search must match."""
    settings = {key: config_json.get(key, SAVED_BEFORE.get(key)) for key in SEARCH_KEYS}
    settings["early_trial_stop"] = stop_rule(settings["early_trial_stop"])
    # A rule's settings mean nothing under the other rules: changing them changes nothing.
    if settings["early_trial_stop"] != "median":
        settings["grace_epochs"] = None
    if settings["early_trial_stop"] != "asha":
        settings["rung_epochs"] = settings["eta"] = None
    return settings


def differing_keys(saved: dict, current: dict) -> list[str]:
    """Names of the search settings that differ between two saved configurations."""
    before, after = search_settings(saved), search_settings(current)
    return [key for key in SEARCH_KEYS if before[key] != after[key]]
