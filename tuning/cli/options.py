"""The command line's grammar: every command and option, with its checks and help text.

Nothing here runs a command; `tuning.cli.main` passes the function each command calls.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path

from hypermodels import NETWORKS, space
from tuning.bench.configs import CONFIGS, DEFAULT_CONFIGS
from tuning.config import STOP_RULES, TuneConfig
from tuning.data import DATA_DIR_ENV, DATASETS
from tuning.engine.budget import parse_duration
from tuning.engine.devices import DISTRIBUTIONS
from tuning.errors import TuningError
from tuning.hardware import PRECISION_CHOICES, TRAINING_CHOICES


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one `error: ...` line instead of usage text."""

    def error(self, message: str):  # noqa: D102 - argparse's contract
        raise TuningError(message)


def int_at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """Argparse type: an integer from `low` up to `high` (no upper limit when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if high is None and value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def duration(text: str) -> float:
    """Argparse type: a time budget in seconds, from `45m`, `2h`, `1h30m` or seconds."""
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


positive_int = int_at_least(1)
seed_int = int_at_least(0, 2**31 - 1)  # what numpy's and Keras's seeding accept


def build_parser(runs: Mapping[str, Callable]) -> Parser:
    """The `tuning` argument parser; `runs` names the function each command calls."""
    defaults = TuneConfig(dataset=DATASETS[0])
    parser = Parser(
        prog="tuning",
        description="Bayesian search over augmentation, dropout, L1/L2, learning rate and batch "
        "size (--space full: every technique of the course) for Keras image classifiers, with "
        "test-set evaluation and CSV reports.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    tune = commands.add_parser(
        "tune",
        help="run or resume a Bayesian search, evaluate the best trials on test, write reports",
        description="Run (or resume: the default) a Bayesian search, then evaluate the best "
        "trials on the test set and write the CSV reports, run.json and PNG plots.",
    )
    tune.add_argument(
        "--config",
        type=Path,
        metavar="FILE.toml",
        help="read settings from a TOML file: the long options below as keys (max-trials = 10) "
        "and a [set] table of pins (dropout = 0.5); options given here override it",
    )
    # Required, but checked when the command runs: argparse would refuse a --dataset given
    # by --config.
    tune.add_argument("--dataset", choices=DATASETS, help="dataset to tune on (required)")
    tune.add_argument(
        "--hypermodel",
        choices=sorted(NETWORKS),
        default=defaults.hypermodel,
        help="network: cnn (Conv64-Conv128-Dense800) or mlp (Dense800); default %(default)s",
    )
    tune.add_argument(
        "--space",
        choices=space.SPACES,
        default=defaults.space,
        help="search space: card (the six names below) or full, which adds activation, "
        "initializer, batch_norm, optimizer, weight_decay (adamw only), bias_l2, activity_l1, "
        "filters (cnn only) and lr_schedule; default %(default)s",
    )
    tune.add_argument(
        "--max-trials",
        type=positive_int,
        default=defaults.max_trials,
        help="trials in the search; more extends a finished search (default %(default)s)",
    )
    tune.add_argument(
        "--initial-points",
        type=positive_int,
        help="random trials before the Gaussian process takes over "
        "(default: a third of --max-trials, at least 2; a resume keeps the saved number)",
    )
    tune.add_argument(
        "--max-epochs",
        type=positive_int,
        default=defaults.max_epochs,
        help="epoch limit per trial; EarlyStopping usually ends sooner (default %(default)s)",
    )
    tune.add_argument(
        "--executions-per-trial",
        type=positive_int,
        default=defaults.executions_per_trial,
        help="trainings per trial, val_accuracy averaged over them (default %(default)s)",
    )
    tune.add_argument(
        "--train-limit",
        type=positive_int,
        metavar="N",
        help="train on the first N training images only, for quick runs (default: all 50,000)",
    )
    tune.add_argument(
        "--top-n",
        type=positive_int,
        default=defaults.top_n,
        help="best trials evaluated on the test set (default %(default)s)",
    )
    tune.add_argument(
        "--seed",
        type=seed_int,
        default=defaults.seed,
        help="seeds the oracle and every trial's training (default %(default)s)",
    )
    tune.add_argument(
        "--results-dir",
        type=Path,
        help="where reports and tuner state go (default: results/<dataset>)",
    )
    add_data_dir(tune)
    tune.add_argument(
        "--set",
        dest="pins",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"pin a hyperparameter instead of searching it; repeatable. Names: "
        f"{', '.join(space.NAMES)}; with --space full also "
        f"{', '.join(space.FULL_NAMES)}. Numbers outside the "
        "searched range are allowed where Keras accepts them, e.g. augment_factor=0 switches "
        "augmentation off; a named choice must be one of its searched values, and batch_norm "
        "takes on or off",
    )
    tune.add_argument(
        "--keep-checkpoints",
        type=positive_int,
        metavar="N",
        help="keep the weights of the N best trials only, deleting the others' as the search "
        "goes, so disk use stays bounded (default: --top-n, the ones evaluated on test)",
    )
    tune.add_argument(
        "--max-failures",
        type=positive_int,
        default=defaults.max_failures,
        metavar="N",
        help="stop the search after N consecutive failed trials, e.g. diverged losses; "
        "the reports still cover the finished ones (default %(default)s)",
    )
    tune.add_argument(
        "--early-trial-stop",
        choices=STOP_RULES,
        default=defaults.early_trial_stop,
        help="end trials that cannot win: asha (successive halving: at rungs of --rung-epochs "
        "x eta^k epochs, only the top 1/eta go on), median (a trial whose best val_accuracy "
        "trails the median of the finished trials at the same epoch, after --grace-epochs) "
        "or off (every trial runs until EarlyStopping); default %(default)s",
    )
    tune.add_argument(
        "--no-early-trial-stop",
        dest="early_trial_stop",
        action="store_const",
        const="off",
        help="the same as --early-trial-stop off",
    )
    tune.add_argument(
        "--rung-epochs",
        type=positive_int,
        default=defaults.rung_epochs,
        metavar="R",
        help="asha: epochs of the first rung (default %(default)s)",
    )
    tune.add_argument(
        "--eta",
        type=int_at_least(2),
        default=defaults.eta,
        metavar="ETA",
        help="asha: each rung keeps the top 1/ETA and is ETA times the last (default %(default)s)",
    )
    tune.add_argument(
        "--time-budget",
        type=duration,
        metavar="DURATION",
        help="wall time the search may take, summed over resumes, not counting the final "
        "evaluation and reports: 45m, 2h, 1h30m or seconds. Once spent no trial starts and "
        "the running one stops at the end of its epoch, keeping its best; a resume with a "
        "larger budget goes on (default: no limit)",
    )
    tune.add_argument(
        "--grace-epochs",
        type=positive_int,
        default=defaults.grace_epochs,
        metavar="N",
        help="epochs every trial runs before the median rule may end it (default %(default)s)",
    )
    tune.add_argument(
        "--warm-start",
        action=argparse.BooleanOptionalAction,
        default=defaults.warm_start,
        help="train the course's configuration for the dataset as the first trial "
        "(--no-warm-start: the first trial is random too); default on",
    )
    tune.add_argument(
        "--training",
        choices=TRAINING_CHOICES,
        default=defaults.training,
        help="fast: an input pipeline (tf.data under TensorFlow) with one fused augmentation "
        "transform, oneDNN on x86 CPUs, XLA on GPUs (always under JAX), the precision below; "
        "plain: the guides' and the course's path "
        "(numpy arrays into fit, three augmentation layers, TensorFlow's defaults); "
        "default %(default)s",
    )
    tune.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default=defaults.precision,
        help="auto: mixed_bfloat16 on GPUs from Ampere on and CPUs with AVX512-BF16 or AMX, "
        "mixed_float16 on older GPUs, else float32; float32 forces full precision "
        "(default %(default)s)",
    )
    tune.add_argument(
        "--in-process",
        action="store_true",
        help="run every trial in this process instead of a fresh one each; saves a few "
        "seconds per trial, but TensorFlow's memory then grows with every trial",
    )
    tune.add_argument(
        "--quiet",
        action="store_true",
        help="no Keras progress bars or KerasTuner trial tables; the one line per finished "
        "trial (score, best so far, elapsed and estimated time left) stays",
    )
    tune.add_argument(
        "--tensorboard",
        action="store_true",
        help="log every trial for TensorBoard, with its values for the HParams dashboard, "
        "under <results-dir>/tensorboard (make tensorboard serves them)",
    )
    tune.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="distributed search: this process becomes the chief, which hands out the trials "
        "and writes the reports but trains nothing, and starts N workers on this machine, "
        "one GPU each where there are GPUs (workers on other machines: docs/distributed.md)",
    )
    tune.add_argument(
        "--distribution",
        choices=DISTRIBUTIONS,
        help="mirrored: train each trial on every GPU of its machine with "
        "tf.distribute.MirroredStrategy (on the CPU where there is none)",
    )
    tune.add_argument(
        "--overwrite",
        action="store_true",
        help="discard the saved search in the results dir and start afresh",
    )
    tune.set_defaults(run=runs["tune"], config_pins={})

    report = commands.add_parser(
        "report",
        help="rebuild the CSV reports and plots of a results dir from its tuner state, "
        "without training",
        description="Rebuild the CSV reports and PNG plots from the tuner state in "
        "RESULTS_DIR. No training; a best trial whose test evaluation is missing is evaluated.",
    )
    report.add_argument("results_dir", type=Path, metavar="RESULTS_DIR")
    add_data_dir(report, default_text="the search's --data-dir, else as for tune")
    report.add_argument(
        "--top-n",
        type=positive_int,
        help="best trials evaluated on the test set (default: the search's --top-n)",
    )
    report.set_defaults(run=runs["report"])

    add_retrain_commands(commands, runs)
    add_bench_command(commands, runs)

    trial = commands.add_parser(
        "run-trial",
        help="(used by tune) run the next trial of a saved search in this process",
        description="Run the next trial of the search saved in RESULTS_DIR, then exit. tune "
        "starts one of these per trial, so memory cannot grow from trial to trial; "
        "it holds the lock meanwhile. Exit status 0: a trial ran; 3: none was left.",
    )
    trial.add_argument("results_dir", type=Path, metavar="RESULTS_DIR")
    trial.add_argument("--parent", type=positive_int, required=True, help="pid of the tune process")
    trial.add_argument(
        "--wait",
        action="store_true",
        help="import first, then wait for tune to write 'go' on stdin (a process started "
        "ahead of its turn); anything else ends it",
    )
    trial.set_defaults(run=runs["run-trial"])

    worker = commands.add_parser(
        "worker",
        help="run trials of a distributed search until its chief says the search is over",
        description="Ask the chief named by KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT for "
        "trials of the search in RESULTS_DIR (shared with the chief) and train them, as "
        "KERASTUNER_TUNER_ID; every setting comes from the chief's run.json.",
    )
    worker.add_argument("results_dir", type=Path, metavar="RESULTS_DIR")
    worker.add_argument(
        "--parent", type=positive_int, help="(used by tune --workers) pid of the chief"
    )
    worker.set_defaults(run=runs["worker"])
    parser.set_defaults(subparsers={"tune": tune, "report": report, "run-trial": trial})
    return parser


def add_bench_command(commands: argparse._SubParsersAction, runs: Mapping[str, Callable]) -> None:
    """Add `bench`, which times the guides' plain training path against tune's."""
    bench = commands.add_parser(
        "bench",
        help="time the guides' plain training path against the one tune uses",
        description="Train the cnn with the course's MNIST configuration pinned, on the plain "
        "path of KerasTuner's guides (baseline) and on tune's (fast), alternately, each run in "
        "a process of its own; print images/s, s/epoch and val_accuracy per run, the median "
        "speed-up, the accuracy gap and the share of the machine's measured matmul "
        "throughput; write bench.csv and bench.json.",
    )
    bench.add_argument("--dataset", choices=DATASETS, default="mnist", help="default %(default)s")
    bench.add_argument(
        "--epochs", type=positive_int, default=2, help="epochs per run (default %(default)s)"
    )
    bench.add_argument(
        "--rounds", type=positive_int, default=3, help="baseline+fast pairs (default %(default)s)"
    )
    bench.add_argument(
        "--train-limit", type=positive_int, metavar="N", help="train on the first N images only"
    )
    bench.add_argument(
        "--results-dir",
        type=Path,
        default=Path("results"),
        help="where bench.csv and bench.json go (default %(default)s)",
    )
    bench.add_argument("--seed", type=seed_int, default=23, help="default %(default)s")
    bench.add_argument(
        "--configs",
        type=bench_configs,
        default=DEFAULT_CONFIGS,
        metavar="A,B,...",
        help=f"configurations to time, each round in this order: {', '.join(CONFIGS)}; the "
        "others each change one lever of fast (default: baseline,fast)",
    )
    add_data_dir(bench)
    bench.set_defaults(run=runs["bench"])


def bench_configs(text: str) -> tuple[str, ...]:
    """Argparse type: a comma-separated list of bench configurations."""
    names = tuple(name.strip() for name in text.split(","))
    unknown = [name for name in names if name not in CONFIGS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown configuration {', '.join(unknown)!r} (known: {', '.join(CONFIGS)})"
        )
    return names


def add_retrain_commands(
    commands: argparse._SubParsersAction, runs: Mapping[str, Callable]
) -> None:
    """Add `ablate` and `confirm`, which retrain a finished search's best configuration."""
    ablate = commands.add_parser(
        "ablate",
        help="retrain the best configuration with each technique switched off; ablation.csv/.png",
        description="Retrain the best trial of RESULTS_DIR as it is and with augmentation, "
        "dropout, L1 and L2 switched off in turn and all together, with the trial's own seed "
        "and epoch budget; evaluate each on test and write ablation.csv and ablation.png. "
        "Rows already finished with the same settings are kept.",
    )
    confirm = commands.add_parser(
        "confirm",
        help="retrain the best configuration with other seeds; confirm.csv with mean and std",
        description="Retrain the best trial of RESULTS_DIR with --seeds other training seeds, "
        "evaluate each on test, and write confirm.csv and confirm_summary.csv (mean and "
        "standard deviation), to tell a real improvement from seed noise. Rows already "
        "finished with the same settings are kept.",
    )
    confirm.add_argument(
        "--seeds",
        type=positive_int,
        default=3,
        metavar="K",
        help="retrainings; the k-th is seeded with the trial's own seed + 1000 * k "
        "(default %(default)s)",
    )
    for command, run in ((ablate, runs["ablate"]), (confirm, runs["confirm"])):
        command.add_argument(
            "results_dir", type=Path, metavar="RESULTS_DIR", help="a finished search's results dir"
        )
        add_data_dir(command, default_text="the search's --data-dir, else as for tune")
        command.add_argument(
            "--max-epochs",
            type=positive_int,
            metavar="N",
            help="epoch limit per retraining, for a quick look; recorded in the CSV "
            "(default: the search's --max-epochs)",
        )
        command.set_defaults(run=run)


def add_data_dir(parser: argparse.ArgumentParser, default_text: str | None = None) -> None:
    """Add the --data-dir option shared by both commands."""
    default_text = default_text or (
        f"${DATA_DIR_ENV}, else /usr/share/datasets/fashion-mnist for fashion-mnist, "
        "else a keras.datasets download"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"folder holding <dataset>/train-images-idx3-ubyte.gz etc. (default: {default_text})",
    )
