"""The command line's grammar: every command and option, with its checks and help text.

Nothing here runs a command; `tuning.cli.main` passes the function each command calls.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from hypermodels import NETWORKS, space
from tuning.bench.configs import CONFIGS, DEFAULT_CONFIGS
from tuning.config import OPTIONS, TuneConfig
from tuning.data import COURSE_DATASETS
from tuning.errors import TuningError
from tuning.settings import option_name, positive_int, seed_int


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one `error: ...` line instead of usage text."""

    def __init__(self, *args, **kwargs):
        # No abbreviations: `--max-trial 3` (a typo) once read as --max-trials and rewrote a
        # saved search's settings without a word (issue 27).
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str):  # noqa: D102 - argparse's contract
        raise TuningError(message)


def build_parser(runs: Mapping[str, Callable]) -> Parser:
    """The `tuning` argument parser; `runs` names the function each command calls."""
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
    add_settings(tune)
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
        "--no-early-trial-stop",
        dest="early_trial_stop",
        action="store_const",
        const="off",
        help="the same as --early-trial-stop off",
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


def add_settings(tune: argparse.ArgumentParser) -> None:
    """Add an option for every TuneConfig setting that declares one, as it declares it."""
    defaults = TuneConfig(dataset=COURSE_DATASETS[0])
    for f in dataclasses.fields(TuneConfig):
        option = f.metadata["option"]
        if option is None:
            continue
        # --dataset is required, but checked when the command runs: argparse would refuse
        # one given by --config.
        default = None if f.name == "dataset" else getattr(defaults, f.name)
        flag = f"--{option_name(f.name)}"
        if option.switch:
            action = argparse.BooleanOptionalAction if option.negatable else "store_true"
            tune.add_argument(flag, action=action, default=default, help=option.help)
        else:
            tune.add_argument(
                flag,
                type=option.type,
                choices=option.choices,
                metavar=option.metavar,
                default=default,
                help=option.help,
            )


def add_bench_command(commands: argparse._SubParsersAction, runs: Mapping[str, Callable]) -> None:
    """Add `bench`, which times the guides' plain training path against tune's."""
    bench = commands.add_parser(
        "bench",
        help="time the guides' plain training path against the one tune uses",
        description="Train the cnn (or --hypermodel) with the course's MNIST configuration "
        "pinned, on the plain "
        "path of KerasTuner's guides (baseline) and on tune's (fast), alternately, each run in "
        "a process of its own; print images/s, s/epoch and val_accuracy per run, the median "
        "speed-up, the accuracy gap and the share of the machine's measured matmul "
        "throughput; write bench.csv and bench.json.",
    )
    bench.add_argument(
        "--dataset",
        default="mnist",
        metavar="NAME|FILE.npz|FOLDER",
        help="any data tune takes (default %(default)s)",
    )
    bench.add_argument(
        "--hypermodel", choices=sorted(NETWORKS), default="cnn", help="default %(default)s"
    )
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
            "results_dir",
            type=Path,
            metavar="RESULTS_DIR",
            help="a finished search's results dir; without its tuner/ state (published or "
            "copied results), its run.json and test_results.csv will do",
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
    """Add --data-dir: as tune declares it, or with another default where one is given."""
    help_text = OPTIONS["data_dir"].help
    if default_text is not None:
        help_text = help_text[: help_text.index("(default: ")] + f"(default: {default_text})"
    parser.add_argument("--data-dir", type=Path, help=help_text)
