"""Command line: parse arguments, call the command, turn known errors into exit status 2."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hypermodels import HYPERMODELS, space
from tuning.config import TuneConfig
from tuning.configfile import read_config
from tuning.data import DATA_DIR_ENV, DATASETS
from tuning.errors import TuningError

EXIT_USAGE = 2


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


positive_int = int_at_least(1)
seed_int = int_at_least(0, 2**31 - 1)  # what numpy's and Keras's seeding accept


def build_parser() -> Parser:
    """The `tuning` argument parser with its `tune` and `report` commands."""
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
    # Required, but checked in run_tune: argparse would refuse a --dataset from --config.
    tune.add_argument("--dataset", choices=DATASETS, help="dataset to tune on (required)")
    tune.add_argument(
        "--hypermodel",
        choices=sorted(HYPERMODELS),
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
        "--overwrite",
        action="store_true",
        help="discard the saved search in the results dir and start afresh",
    )
    tune.set_defaults(run=run_tune, config_pins={})

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
    report.set_defaults(run=run_report)

    trial = commands.add_parser(
        "run-trial",
        help="(used by tune) run the next trial of a saved search in this process",
        description="Run the next trial of the search saved in RESULTS_DIR, then exit. tune "
        "starts one of these per trial, so memory cannot grow from trial to trial; "
        "it holds the lock meanwhile. Exit status 0: a trial ran; 3: none was left.",
    )
    trial.add_argument("results_dir", type=Path, metavar="RESULTS_DIR")
    trial.add_argument("--parent", type=positive_int, required=True, help="pid of the tune process")
    trial.set_defaults(run=run_trial)
    parser.set_defaults(subparsers={"tune": tune, "report": report, "run-trial": trial})
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; with --config, parse again over the file's settings."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None) is not None:
        tune = args.subparsers["tune"]
        defaults, pins = read_config(args.config, tune)
        tune.set_defaults(**defaults, config_pins=pins)
        args = parser.parse_args(argv)
    return args


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


def run_tune(args: argparse.Namespace) -> str:
    """Turn parsed `tune` arguments into a configuration and run it."""
    from tuning.commands import tune

    if args.dataset is None:
        raise TuningError("the following arguments are required: --dataset")
    # A --set on the command line overrides the config file's pin of the same name.
    pins = {**args.config_pins, **{text.partition("=")[0].strip(): text for text in args.pins}}
    config = TuneConfig(
        dataset=args.dataset,
        hypermodel=args.hypermodel,
        space=args.space,
        max_trials=args.max_trials,
        initial_points=args.initial_points,
        max_epochs=args.max_epochs,
        executions_per_trial=args.executions_per_trial,
        train_limit=args.train_limit,
        top_n=args.top_n,
        seed=args.seed,
        results_dir=args.results_dir,
        data_dir=args.data_dir,
        pins=space.parse_pins(list(pins.values()), space=args.space, hypermodel=args.hypermodel),
        overwrite=args.overwrite,
        max_failures=args.max_failures,
        keep_checkpoints=args.keep_checkpoints,
        in_process=args.in_process,
        quiet=args.quiet,
    )
    return tune(config)


def run_trial(args: argparse.Namespace) -> int:
    """Run one trial of a saved search (tune's child process); return the exit status."""
    from tuning.commands import run_trial

    return run_trial(args.results_dir, args.parent)


def run_report(args: argparse.Namespace) -> str:
    """Rebuild the reports of a results dir."""
    from tuning.commands import report

    return report(args.results_dir, data_dir=args.data_dir, top_n=args.top_n)


class Terminated(KeyboardInterrupt):
    """SIGTERM, as sent by `kill`, systemd or a batch scheduler: stop as for Ctrl-C."""


def terminate(signum: int, frame: object) -> None:
    """SIGTERM handler: unwind like Ctrl-C, so the lock is released and the user told."""
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m tuning` and the `tuning` script; returns the exit status."""
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        args = parse_args(argv)
        result = args.run(args)
        if isinstance(result, int):  # run-trial speaks through its exit status
            return result
        print(result)
    except (TuningError, space.PinError) as e:
        print(f"error: {e}", file=sys.stderr)
        return getattr(e, "exit_status", EXIT_USAGE)
    except KeyboardInterrupt as e:
        print(
            "interrupted: finished trials are saved; run the same command to resume",
            file=sys.stderr,
        )
        return 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
