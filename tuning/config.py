"""One explicit run configuration: defaults in one place, derived values resolved with reasons."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from hypermodels import NETWORKS, space, user
from tuning import objective
from tuning.data import BUILT_IN, dataset_name
from tuning.errors import TuningError
from tuning.experiment import course_lr_factor
from tuning.hardware import DISTRIBUTIONS, PRECISION_CHOICES, TRAINING_CHOICES
from tuning.idx import DATA_DIR_ENV
from tuning.layout import portable_path
from tuning.settings import (
    NOT_SAVED,
    IntegerRange,
    Option,
    duration,
    image_size,
    interval,
    positive_int,
    seed_int,
    setting,
)

# The rules that may end a trial early (tuning.engine.stopping), for --early-trial-stop.
STOP_RULES = ("asha", "median", "off")
# Successive halving stops a trial at a rung only against this many other trials' results
# there: against one, a single lucky or unlucky trial decides (issue 26: the published MNIST
# search stopped trials 01 and 02 on one result each). Searches saved before keep 1.
RUNG_MIN_RESULTS = 2
# Trials in a search given no --max-trials: the course's 10; with a time budget, as many as
# the budget buys, up to a cap no budget on one machine reaches, whose 3 digits are the
# width of the trial ids (issue 26).
DEFAULT_TRIALS = 10
BUDGET_TRIALS = 999


def network(text: str) -> str:
    """A value type: a built-in network's name, or user code as FILE.py:NAME."""
    if text in NETWORKS or user.is_spec(text):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is neither a built-in network ({', '.join(sorted(NETWORKS))}) nor "
        "FILE.py:NAME or package.module:NAME"
    )


def user_code(text: str) -> str:
    """A value type: user code as FILE.py:NAME or package.module:NAME."""
    if user.is_spec(text):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not FILE.py:NAME or package.module:NAME")


def objective_name(text: str) -> str:
    """A value type: a metric's name, with `:max` or `:min` where its name tells neither."""
    try:
        objective.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


@dataclass
class TuneConfig:
    """Everything one `tune` run needs; `resolve()` fills the values derived from others.

    Each field is declared once, with `setting`: its default, its option (help, type,
    choices), and `search=True` where it decides which trials the search runs, so a resume
    must match it: KerasTuner would silently keep the saved oracle and mix incomparable
    trials.
    """

    # Required, but checked when the command runs: argparse would refuse a --dataset given by
    # --config.
    dataset: str = setting(
        option=Option(
            f"what to tune on (required): {', '.join(BUILT_IN)}, an .npz file or a folder "
            "of images with train/ and test/ (docs/your-own-data.md)",
            metavar="NAME|FILE.npz|FOLDER",
        ),
        search=True,
    )
    hypermodel: str = setting(
        "cnn",
        Option(
            "network: cnn (Conv64-Conv128-Dense800), mlp (Dense800), or your own KerasTuner "
            "HyperModel (a class, an instance or a build(hp) function) as FILE.py:NAME or "
            "package.module:NAME, searched over its own names (docs/your-own-model.md); "
            "default %(default)s",
            type=network,
            metavar="cnn|mlp|FILE.py:NAME",
        ),
        search=True,
    )
    model: str | None = setting(
        None,
        Option(
            "your own Keras model instead of the network: a function (input_shape, "
            "num_classes) -> keras.Model, as FILE.py:NAME or package.module:NAME, searched "
            "over the six card names (docs/your-own-model.md)",
            type=user_code,
            metavar="FILE.py:NAME",
        ),
        search=True,
        saved_before=None,
    )
    space: str = setting(
        "card",
        Option(
            "search space: card (the six names below) or full, which adds activation, "
            "initializer, batch_norm, optimizer, weight_decay (adamw only), bias_l2, "
            "activity_l1, filters (cnn only) and lr_schedule; default %(default)s",
            choices=space.SPACES,
        ),
        search=True,
        saved_before="card",
    )
    objective: str = setting(
        objective.DEFAULT,
        Option(
            "the metric that ranks the trials, as Keras logs it (val_ for the validation "
            "set's): val_accuracy, val_loss, or any metric your own HyperModel compiles; "
            "higher or lower is better as its name says, as KerasTuner infers it, or as "
            "NAME:max or NAME:min says (default %(default)s)",
            type=objective_name,
            metavar="NAME[:max|min]",
        ),
        search=True,
        saved_before=objective.DEFAULT,
    )
    max_trials: int | None = setting(
        None,
        Option(
            f"trials in the search; more extends a finished search (default {DEFAULT_TRIALS}; "
            f"with --time-budget, as many as the budget buys, up to {BUDGET_TRIALS})",
            type=positive_int,
        ),
    )
    initial_points: int | None = setting(
        None,
        Option(
            "random trials before the Gaussian process takes over "
            "(default: a third of --max-trials or of its default 10, at least 2; a resume "
            "keeps the saved number)",
            type=positive_int,
        ),
        search=True,
    )
    max_epochs: int = setting(
        100,
        Option(
            "epoch limit per trial; EarlyStopping usually ends sooner (default %(default)s)",
            type=positive_int,
        ),
        search=True,
    )
    executions_per_trial: int = setting(
        1,
        Option(
            "trainings per trial, the objective averaged over them (default %(default)s)",
            type=positive_int,
        ),
        search=True,
    )
    train_limit: int | None = setting(
        None,
        Option(
            "train on the first N training images only, for quick runs (default: all 50,000)",
            type=positive_int,
            metavar="N",
        ),
        search=True,
    )
    val_size: int | None = setting(
        None,
        Option(
            "validation images, held out of the training images where the data has no "
            "validation set of its own: the last N for mnist and fashion-mnist (default "
            "10,000, as the course), a seeded split keeping each class's share for other data "
            "(default a sixth)",
            type=positive_int,
            metavar="N",
        ),
        search=True,
        saved_before=None,
    )
    image_size: list[int] | None = setting(
        None,
        Option(
            "an image folder's images are resized to H x W pixels (default: the most common "
            "size among its training images)",
            type=image_size,
            metavar="H[xW]",
        ),
        search=True,
        saved_before=None,
    )
    top_n: int = setting(
        10,
        Option("best trials evaluated on the test set (default %(default)s)", type=positive_int),
    )
    seed: int = setting(
        23,
        Option("seeds the oracle and every trial's training (default %(default)s)", type=seed_int),
        search=True,
    )
    results_dir: Path | None = setting(
        None,
        Option(
            "where reports and tuner state go (default: results/<name>, the dataset's name "
            "or its file's or folder's stem)",
            type=Path,
        ),
    )
    data_dir: Path | None = setting(
        None,
        Option(
            "folder holding <dataset>/train-images-idx3-ubyte.gz etc. (default: "
            f"${DATA_DIR_ENV}, else /usr/share/datasets/fashion-mnist for fashion-mnist, "
            "else a keras.datasets download)",
            type=Path,
        ),
    )
    # Set by --set NAME=VALUE (and a config file's [set] table), parsed against the space.
    pins: dict[str, space.Value] = setting(default_factory=dict, search=True)
    overwrite: bool = setting(
        False,
        Option(
            "discard the saved search in the results dir, and what confirm and ablate wrote "
            "of it, and start afresh",
            switch=True,
        ),
    )
    # The course's callbacks; no option: they are its experiment, not a knob.
    lr_factor: float | None = setting(None, search=True)  # None: the course's for the dataset
    lr_patience: int = setting(5, search=True)
    lr_min_delta: float = setting(1e-4, search=True)
    min_lr: float = setting(1e-5, search=True)
    early_stop_patience: int = setting(10, search=True)
    early_stop_min_delta: float = setting(1e-5, search=True)
    # asha is the default by measurement: the same search in half median's time or less
    # (docs/speed.md). Searches saved before asha kept a bool (see `stop_rule`).
    early_trial_stop: str = setting(
        "asha",
        Option(
            "end trials that cannot win: asha (successive halving: at rungs of --rung-epochs "
            "x eta^k epochs, only the top 1/eta go on), median (a trial whose best "
            "objective trails the median of the finished trials at the same epoch, after "
            "--grace-epochs) or off (every trial runs until EarlyStopping); "
            "default %(default)s",
            choices=STOP_RULES,
        ),
        search=True,
        saved_before=False,
    )
    # asha: ended trials' results a rung needs before it stops one; searches saved with the
    # rule that stopped on a single result resume with it (tuning.engine.stopping).
    rung_min_results: int = setting(RUNG_MIN_RESULTS, search=True, saved_before=1)
    # The Gaussian process models a trial stopped early at the fidelity it reached, (values,
    # epochs), and proposes at full fidelity; searches saved before read every score as a
    # finished trial's (tuning.engine.gpdata).
    fidelity_gp: bool = setting(True, search=True, saved_before=False)
    # It fits the scores' normal scores (their ranks through the inverse normal CDF), so that
    # one diverged trial does not set its scale; searches saved before fit the raw scores.
    gp_normal_scores: bool = setting(True, search=True, saved_before=False)
    # The acquisition's restarts start from points drawn from (seed, trial number), so one
    # process, a process per trial and a resume propose alike; searches saved before drew
    # them from a generator made anew in each process (tuning.engine.oracle).
    gp_restart_seeds: bool = setting(True, search=True, saved_before=False)
    # With `fidelity_gp`, every trial may also count at each rung it passed, with its best
    # score by then (MOBSTER's data). Off: in real searches it did no better than counting
    # each trial once, at its end, and worse on Fashion-MNIST (docs/search.md). Versioned, so
    # that a search started with it resumes with it (tuning.engine.gpdata).
    gp_rung_scores: bool = setting(False, search=True, saved_before=False)
    # Or the GP fits the values alone, each trial's best score by the highest rung that one
    # trial more than there are searched names reached, as BOHB fits its model. Off: it
    # ended a loop of proposals at the learning rate's edge, replayed and in real searches,
    # without a better model there (docs/search.md). Versioned, as above (tuning.engine.gpdata).
    gp_shared_rung: bool = setting(False, search=True, saved_before=False)
    # Each epoch's batches follow from (seed, epoch), so a trial resumes mid-way as if never
    # stopped; searches saved before keep their pipeline's order (hypermodels.training).
    epoch_seeds: bool = setting(True, search=True, saved_before=False)
    # As long as EarlyStopping's patience: the same trust in a plateau.
    grace_epochs: int = setting(
        10,
        Option(
            "epochs every trial runs before the median rule may end it (default %(default)s)",
            type=positive_int,
            metavar="N",
        ),
        search=True,
        saved_before=None,
    )
    rung_epochs: int = setting(
        3,
        Option(
            "asha: epochs of the first rung (default %(default)s)",
            type=positive_int,
            metavar="R",
        ),
        search=True,
    )
    eta: int = setting(
        3,
        Option(
            "asha: each rung keeps the top 1/ETA and is ETA times the last (default %(default)s)",
            type=IntegerRange(2),
            metavar="ETA",
        ),
        search=True,
    )
    # The first trial trains the course's configuration (hypermodels.space.COURSE_VALUES), so
    # the search starts from a known good point and the stopping rules a strong reference.
    warm_start: bool = setting(
        True,
        Option(
            "train the course's configuration for the dataset as the first trial "
            "(--no-warm-start: the first trial is random too); default on",
            switch=True,
            negatable=True,
        ),
        search=True,
        saved_before=False,
    )
    max_failures: int = setting(
        3,
        Option(
            "stop the search after N consecutive failed trials, e.g. diverged losses; "
            "the reports still cover the finished ones (default %(default)s)",
            type=positive_int,
            metavar="N",
        ),
    )
    # Seconds over all the search's runs (tuning.engine.budget); a resume may raise it.
    time_budget: float | None = setting(
        None,
        Option(
            "wall time the search may take, summed over resumes, not counting the final "
            "evaluation and reports: 45m, 2h, 1h30m or seconds. Once spent no trial starts "
            "and the running one stops at the end of its epoch, keeping its best; a resume "
            "with a larger budget goes on (default: no limit)",
            type=duration,
            metavar="DURATION",
        ),
    )
    keep_checkpoints: int | None = setting(
        None,
        Option(
            "keep the weights of the N best trials only, deleting the others' as the search "
            "goes, so disk use stays bounded (default: --top-n, the ones evaluated on test)",
            type=positive_int,
            metavar="N",
        ),
    )
    # How trials train (tuning.hardware.training_path); neither changes what is searched.
    training: str = setting(
        "fast",
        Option(
            "fast: an input pipeline (tf.data under TensorFlow) with one fused augmentation "
            "transform, oneDNN on x86 CPUs, XLA on GPUs (always under JAX), the precision "
            "below; plain: the guides' and the course's path (numpy arrays into fit, three "
            "augmentation layers, TensorFlow's defaults); default %(default)s",
            choices=TRAINING_CHOICES,
        ),
    )
    precision: str = setting(
        "auto",
        Option(
            "auto: mixed_bfloat16 on GPUs from Ampere on and CPUs with AVX512-BF16 or AMX, "
            "mixed_float16 on older GPUs, else float32; float32 forces full precision "
            "(default %(default)s)",
            choices=PRECISION_CHOICES,
        ),
    )
    # False: each trial in a fresh process, the only bound on TensorFlow's memory growth.
    in_process: bool = setting(
        False,
        Option(
            "run every trial in this process instead of a fresh one each; saves a few "
            "seconds per trial, but TensorFlow's memory then grows with every trial",
            switch=True,
        ),
    )
    quiet: bool = setting(
        False,
        Option(
            "no Keras progress bars or KerasTuner trial tables; the one line per finished "
            "trial (score, best so far, elapsed and estimated time left) stays",
            switch=True,
        ),
    )
    tensorboard: bool = setting(
        False,
        Option(
            "log every trial for TensorBoard, with its values for the HParams dashboard, "
            "under <results-dir>/tensorboard (make tensorboard serves them)",
            switch=True,
        ),
    )
    workers: int | None = setting(
        None,
        Option(
            "distributed search: this process becomes the chief, which hands out the trials "
            "and writes the reports but trains nothing, and starts N workers on this "
            "machine, one GPU each where there are GPUs (workers on other machines: "
            "docs/distributed.md)",
            type=positive_int,
            metavar="N",
        ),
    )
    trials_per_device: int | None = setting(
        None,
        Option(
            "trials that train at once on each GPU (with --workers, on each worker's device), "
            "each in a worker of its own that the chief starts; a parallel search is not "
            "repeatable trial for trial (default: as many as the GPU's memory holds, at most "
            "4 and a CPU core each; 1 on CPUs)",
            type=positive_int,
            metavar="N",
        ),
    )
    save_every: float = setting(
        30.0,
        Option(
            "a running trial saves its state (weights, optimizer, callbacks) after an epoch "
            "at most this often, so that a kill loses at most one epoch or this long; 0: "
            "after every epoch (default 30s)",
            type=interval,
            metavar="DURATION",
        ),
    )
    worker_timeout: float = setting(
        300.0,
        Option(
            "distributed search: a worker not heard from for this long (it calls the chief "
            "every tenth of it) is taken for dead, and its trial goes back to the queue, to "
            "resume on the next worker from its last saved epoch: 5m, 90s (default 5m)",
            type=duration,
            metavar="DURATION",
        ),
    )
    distribution: str | None = setting(
        None,
        Option(
            "mirrored: train each trial on every GPU of its machine with "
            "tf.distribute.MirroredStrategy (on the CPU where there is none)",
            choices=DISTRIBUTIONS,
        ),
    )

    def resolve(self) -> TuneConfig:
        """Return a copy with every derived default filled in."""
        return dataclasses.replace(
            self,
            # KerasTuner's default is 3 random trials per hyperparameter (18 here), which
            # would leave a 10-trial search random throughout; keep most for the GP.
            initial_points=self.initial_points or max(2, (self.max_trials or DEFAULT_TRIALS) // 3),
            results_dir=Path(self.results_dir or Path("results") / dataset_name(self.dataset)),
            lr_factor=self.lr_factor or course_lr_factor(dataset_name(self.dataset)),
            keep_checkpoints=self.keep_checkpoints or self.top_n,
        )

    def to_json(self) -> dict:
        """The configuration as JSON-ready values, with the declared (unpinned) search space."""
        values = dataclasses.asdict(self)
        for key in ("results_dir", "data_dir"):
            values[key] = None if values[key] is None else portable_path(values[key])
        # The space as the code declares it, before pins: a change here means the code changed.
        # A user's HyperModel declares its own, known once its code runs: its file's digest
        # (in run.json's experiment) stands for it.
        if self.user_hypermodel:
            values["search_space"] = None
        else:
            declared = space.search_space(space=self.space, hypermodel=self.hypermodel)
            values["search_space"] = declared.get_config()
        return values

    def check_network(self) -> None:
        """Refuse a user's model or HyperModel with settings that are the built-ins' alone.

        Raises:
            TuningError: --model with --space full or a HyperModel; a HyperModel with --space full.
        """
        if self.model is not None and self.space == "full":
            raise TuningError(
                "--model searches the six card names; --space full is for the built-in networks"
            )
        if self.model is not None and self.hypermodel not in NETWORKS:
            raise TuningError("--model and --hypermodel name two networks: give one of them")
        if self.user_hypermodel and self.space != "card":
            raise TuningError(
                f"--space: {self.hypermodel} searches its own names and ranges; leave --space out"
            )
        if not self.user_hypermodel:
            try:
                objective.built_in(self.objective)
            except ValueError as e:
                raise TuningError(f"--objective {e}") from None

    @property
    def trial_cap(self) -> int:
        """The most trials the search runs: --max-trials, else as the time budget allows."""
        if self.max_trials is not None:
            return self.max_trials
        return BUDGET_TRIALS if self.time_budget else DEFAULT_TRIALS

    @property
    def until_budget(self) -> bool:
        """Whether only the time budget ends the search: a budget and no --max-trials."""
        return self.max_trials is None and self.time_budget is not None

    @property
    def user_spec(self) -> str | None:
        """The user's model or HyperModel as it was named (FILE.py:NAME); None for built-ins."""
        return self.model or (self.hypermodel if self.user_hypermodel else None)

    @property
    def user_hypermodel(self) -> bool:
        """Whether the network is a user's HyperModel, with names and ranges of its own."""
        return self.model is None and self.hypermodel not in NETWORKS


FIELDS = dataclasses.fields(TuneConfig)
# The settings a resume must match, and the declared search space beside the pins.
SEARCH_KEYS = tuple(
    key
    for f in FIELDS
    if f.metadata["search"]
    for key in ((f.name, "search_space") if f.name == "pins" else (f.name,))
)
# Values of search settings that older run.json files lack: they were searched before the
# setting existed, which is what these values mean.
SAVED_BEFORE = {
    f.name: f.metadata["saved_before"]
    for f in FIELDS
    if f.metadata["saved_before"] is not NOT_SAVED
}
OPTIONS = {f.name: f.metadata["option"] for f in FIELDS if f.metadata["option"] is not None}
# The code's own rules, versioned: no option sets them, and a resumed search (or a worker)
# keeps the ones it started with, SAVED_BEFORE's where its run.json predates them (issue 26).
RULE_VERSIONS = (
    "rung_min_results",
    "fidelity_gp",
    "gp_normal_scores",
    "gp_restart_seeds",
    "gp_rung_scores",
    "gp_shared_rung",
    "epoch_seeds",
)


def saved_rules(config_json: dict) -> dict:
    """The rule versions a saved configuration ran with."""
    return {key: config_json.get(key, SAVED_BEFORE[key]) for key in RULE_VERSIONS}


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
        settings["rung_epochs"] = settings["eta"] = settings["rung_min_results"] = None
    return settings


def differing_keys(saved: dict, current: dict) -> list[str]:
    """Names of the search settings that differ between two saved configurations."""
    before, after = search_settings(saved), search_settings(current)
    return [key for key in SEARCH_KEYS if before[key] != after[key]]
