"""Command line: parse arguments, call the command, turn known errors into exit status 2."""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import tuning
from hypermodels import space
from tuning import backend, experiment, interrupts
from tuning.cli.configfile import read_config
from tuning.cli.options import build_parser
from tuning.config import TuneConfig
from tuning.data import check_train_limit, hold_out, load_dataset
from tuning.engine import spawn
from tuning.errors import TuningError
from tuning.pins import parse_pins
from tuning.store.resume import recorded_run, saved_config, saved_run

EXIT_USAGE = 2
INTERRUPTED = "interrupted: finished trials are saved; run the same command to resume"
# Commands that tune starts itself; the command list for users leaves them out.
INTERNAL_COMMANDS = ("run-trial",)


def with_pin_hint(message: str, argv: list[str]) -> str:
    """The argparse message, plus the NAME=VALUE form when `--set NAME VALUE` caused it."""
    spaced = [
        f"{name}={value}"
        for flag, name, value in zip(argv, argv[1:], argv[2:], strict=False)
        if flag == "--set" and "=" not in name and not value.startswith("-")
    ]
    if not spaced or "unrecognized arguments" not in message:
        return message
    return f"{message} (--set takes NAME=VALUE in one word: --set {spaced[0]})"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; with --config, parse again over the file's settings.

    Raises:
        TuningError: a bad command line, with a hint where argparse's own words give none.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(RUNS)
    if not argv:
        commands = ", ".join(name for name in RUNS if name not in INTERNAL_COMMANDS)
        raise TuningError(f"give a command: {commands} (add --help to one for its options)")
    try:
        args = parser.parse_args(argv)
    except TuningError as e:
        raise TuningError(with_pin_hint(str(e), argv)) from None
    if getattr(args, "config", None) is not None:
        tune = args.subparsers["tune"]
        defaults, pins = read_config(args.config)
        tune.set_defaults(**defaults, config_pins=pins)
        args = parser.parse_args(argv)
    return args


def run_tune(args: argparse.Namespace) -> str:
    """Turn parsed `tune` arguments into a configuration, check its data, and run it."""
    if args.dataset is None:
        raise TuningError("the following arguments are required: --dataset")
    # A --set on the command line overrides the config file's pin of the same name; the
    # same name twice on the command line is a mistake.
    given = [text.partition("=")[0].strip() for text in args.pins]
    twice = sorted({name for name in given if given.count(name) > 1})
    if twice:
        raise TuningError(f"--set {twice[0]} given twice; give each name once")
    pins = {**args.config_pins, **dict(zip(given, args.pins, strict=True))}
    # Each option of `tune` is the TuneConfig field of its name (the course's callback
    # settings have no option: their defaults hold); the pins are parsed.
    fields = (f.name for f in dataclasses.fields(TuneConfig))
    settings = {name: getattr(args, name) for name in fields if hasattr(args, name)}
    config = TuneConfig(**settings)
    config.check_network()
    if config.user_hypermodel:  # typed by its own declarations once its code is imported
        pinned = {name: text.partition("=")[2].strip() for name, text in pins.items()}
    else:
        pinned = parse_pins(list(pins.values()), space=config.space, hypermodel=config.hypermodel)
    config = dataclasses.replace(config, pins=pinned)
    backend.check_options(config.distribution, config.tensorboard)
    dataset = load_dataset(config.dataset, config.data_dir, config.image_size)
    check_train_limit(hold_out(dataset, config.val_size, config.seed), config.train_limit)
    # Refuses images too small for the network.
    experiment.define(dataset, config.hypermodel, config.space, model=config.model)
    # The first trial's process imports the backend while this one does.
    spawn.start_ahead_of_tune(config.resolve())
    try:
        tuning.import_backend_quietly()
        from tuning.commands.tune import tune

        return tune(config, dataset=dataset)
    finally:  # a refused or failed tune leaves no process waiting for it
        spawn.drop_ahead()


def run_trial(args: argparse.Namespace) -> int:
    """Run one trial of a saved search (tune's child process); return the exit status."""
    from tuning.commands.trial import run_trial

    return run_trial(args.results_dir, args.parent, wait=args.wait)


def run_worker(args: argparse.Namespace) -> str:
    """Work as a worker of a distributed search."""
    from tuning.distributed.worker import work

    return work(args.results_dir, args.parent)


# Commands that import the backend themselves, once their input is checked.
LATE_BACKEND = ("tune", "report", "ablate", "confirm")


def require_search(results_dir: Path, reports: bool = False) -> None:
    """Refuse a folder that holds no search at once, reading only its run.json and state.

    With `reports`, a search's reports without its state will do (to retrain its best trial).

    Raises:
        TuningError: `results_dir` holds no search.
    """
    run = saved_run(results_dir)
    saved_config(results_dir, run or (recorded_run(results_dir) if reports else None))


def run_report(args: argparse.Namespace) -> str:
    """Rebuild the reports of a results dir."""
    require_search(args.results_dir)
    tuning.import_backend_quietly()
    from tuning.commands.report import report

    return report(args.results_dir, data_dir=args.data_dir, top_n=args.top_n)


def run_bench(args: argparse.Namespace) -> str:
    """Time the baseline and fast training paths."""
    from tuning.bench.suite import bench

    return bench(
        args.dataset,
        args.epochs,
        args.rounds,
        args.results_dir,
        train_limit=args.train_limit,
        data_dir=args.data_dir,
        seed=args.seed,
        configs=args.configs,
        hypermodel=args.hypermodel,
    )


def run_ablate(args: argparse.Namespace) -> str:
    """Retrain the best configuration with each technique switched off."""
    require_search(args.results_dir, reports=True)
    tuning.import_backend_quietly()
    from tuning.retrain.ablation import ablate

    return ablate(args.results_dir, data_dir=args.data_dir, max_epochs=args.max_epochs)


def run_confirm(args: argparse.Namespace) -> str:
    """Retrain the best configuration with other seeds."""
    require_search(args.results_dir, reports=True)
    tuning.import_backend_quietly()
    from tuning.retrain.confirm import confirm

    return confirm(
        args.results_dir, seeds=args.seeds, data_dir=args.data_dir, max_epochs=args.max_epochs
    )


# The function each command calls; each imports its module only when it runs.
RUNS = {
    "tune": run_tune,
    "report": run_report,
    "run-trial": run_trial,
    "worker": run_worker,
    "bench": run_bench,
    "ablate": run_ablate,
    "confirm": run_confirm,
}


def run() -> NoReturn:
    """`python -m tuning` and the `tuning` script: exit with `main`'s status, at once.

    Every file is written and closed when `main` returns. The interpreter's own exit would
    then spend most of a second tearing TensorFlow down (0.8 s on a 2-core CPU): in every
    trial's process, before `tune` can go on, and at the end of every command. The atexit
    handlers still run (well under a millisecond): TensorFlow's autograph removes there the
    source files it wrote to the temp dir for each traced function, seven a trial, which
    `os._exit` alone left behind by the thousand.
    """
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()  # what a normal exit runs before its teardown
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run its command and return the exit status; errors become one line."""
    with interrupts.noted():
        return run_command(argv)


def run_command(argv: Sequence[str] | None) -> int:
    """`main` under the interrupt handlers: one line for an error or an interrupt."""
    try:
        args = parse_args(argv)
        # Only now, and for tune only once its data is read, for report, ablate and confirm
        # once the folder holds a search: --help, bad arguments, bad data and a wrong folder
        # answer without the backend's seconds of start-up.
        if args.command not in LATE_BACKEND:
            tuning.import_backend_quietly()
        result = args.run(args)
        interrupts.raise_pending()  # one lost in a finalizer is no success
        if isinstance(result, int):  # run-trial speaks through its exit status
            return result
        print(result)
    except (TuningError, space.PinError) as e:
        print(f"error: {e}", file=sys.stderr)
        return getattr(e, "exit_status", EXIT_USAGE)
    except KeyboardInterrupt as e:
        # A search's interrupt says what it kept and lost; any other, the general rule.
        print(str(e) or INTERRUPTED, file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(e, interrupts.Terminated) else signal.SIGINT)
    return 0
