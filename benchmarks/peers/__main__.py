"""The command line: plan the runs, run what is missing, then write the report.

`python -m benchmarks.peers --help` says what the benchmark does (the package's docstring).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import benchmarks.peers
from benchmarks.peers import (
    CONTENDERS,
    DATASETS,
    DEFAULT_CONTENDERS,
    REPO,
    SEED,
    SEED_STEP,
    TOOL_RULES,
    RunFailed,
    Task,
)
from benchmarks.peers.child import run_child, spawn_child
from benchmarks.peers.reference import reference
from benchmarks.peers.report import write_report
from benchmarks.peers.runs import drop_work, result_path, run_name, summary_line, task_of
from benchmarks.peers.tool import run_tool
from tuning.idx import DATA_DIR_ENV
from tuning.layout import HISTORY_CSV, TRIALS_CSV
from tuning.settings import duration
from tuning.store.files import read_json, write_json_atomic


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; `--help` says what the benchmark does."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.peers",
        description=benchmarks.peers.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="CONTENDER",
        help=f"run only these contenders, repeatable or comma-separated ({', '.join(CONTENDERS)};"
        f" without --only: {', '.join(DEFAULT_CONTENDERS)}); the report still shows every "
        "finished run",
    )
    parser.add_argument(
        "--datasets", default=",".join(DATASETS), help="comma-separated (%(default)s)"
    )
    parser.add_argument(
        "--budget", type=duration, default=900.0, help="wall time of each search: 15m, 90s (15m)"
    )
    parser.add_argument("--max-epochs", type=int, default=20, help="epochs a trial, at most (20)")
    parser.add_argument(
        "--train-limit", type=int, default=10_000, help="training images, the first N (10000)"
    )
    parser.add_argument(
        "--val-size", type=int, help="validation images (tune's default: the last 10,000)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help=f"runs per contender and dataset, seeded {SEED}, {SEED + SEED_STEP}, ... (1)",
    )
    parser.add_argument("--hypermodel", default="cnn", help="every contender's network (cnn)")
    parser.add_argument(
        "--out", type=Path, default=REPO / "results" / "peers", help="(results/peers)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get(DATA_DIR_ENV) or REPO.parent / "shared" / "datasets"),
        help=f"folder of mnist/ and fashion-mnist/ IDX files (${DATA_DIR_ENV}, else "
        "../shared/datasets)",
    )
    parser.add_argument("--keep-work", action="store_true", help="keep each run's tuner files")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a run's own process: its spec
    return parser.parse_args(argv)


def chosen_contenders(only: list[str] | None) -> list[str]:
    """The contenders to run: `--only`'s, else the five; Optuna left out where not installed.

    Raises:
        SystemExit: an unknown contender, or Optuna asked for by name but not installed.
    """
    names = [n for item in only or [] for n in item.split(",") if n] or list(DEFAULT_CONTENDERS)
    unknown = sorted(set(names) - set(CONTENDERS))
    if unknown:
        raise SystemExit(f"unknown contender {', '.join(unknown)} (known: {', '.join(CONTENDERS)})")
    if "optuna" in names and importlib.util.find_spec("optuna") is None:
        if only:
            raise SystemExit(
                "optuna is not installed: .venv/bin/python -m pip install -e '.[bench]'"
            )
        print("skipping optuna: not installed (pip install -e '.[bench]')", flush=True)
        names.remove("optuna")
    return names


def main(argv: list[str] | None = None) -> int:
    """Run every missing (dataset, contender, seed), then write the report; 1 if a run failed."""
    args = parse_args(argv)
    if args.child:
        run_child(json.loads(args.child))
        return 0
    # Absolute: the runs' processes work in the repository, where `python -m tuning` finds
    # this checkout's package, not a `tuning` or `keras` module lying in the caller's folder.
    args.out, args.data_dir = args.out.resolve(), args.data_dir.resolve()
    contenders = chosen_contenders(args.only)
    datasets = [d for d in args.datasets.split(",") if d]
    seeds = [SEED + SEED_STEP * k for k in range(args.seeds)]
    failed = 0
    for dataset in datasets:
        failed += not reference(args, dataset)
        for contender in contenders:
            for seed in seeds:
                failed += not ensure_run(args, contender, task_of(args, dataset, seed))
    written = write_report(args, datasets, seeds)
    print("\n".join(f"wrote {path}" for path in written))
    return 1 if failed else 0


def ensure_run(args: argparse.Namespace, contender: str, task: Task) -> bool:
    """Run one contender on one task unless its result is there; False if it failed.

    Raises:
        SystemExit: a saved result is of another task: it would be compared with this one.
    """
    path = result_path(args.out, contender, task)
    saved = read_json(path)
    if saved is not None:
        if saved["task"] != asdict(task):
            raise SystemExit(f"{path} is of another task ({saved['task']}); use another --out")
        print(f"skip {task.dataset} {contender} seed {task.seed}: done", flush=True)
        return True
    work = args.out / "work" / task.dataset / run_name(contender, task)
    log = args.out / "logs" / task.dataset / f"{run_name(contender, task)}.log"
    for folder in (work, log.parent, path.parent):
        folder.mkdir(parents=True, exist_ok=True)
    print(f"run {task.dataset} {contender} seed {task.seed} ({CONTENDERS[contender]})", flush=True)
    try:
        if contender in TOOL_RULES:
            write_json_atomic(path, run_tool(task, args.data_dir, work, log, contender))
            # Its trials and every epoch of each as `tune` wrote them, for benchmarks.gp_replay
            # and for any reading of the scores a trial had at each rung.
            shutil.copyfile(work / TRIALS_CSV, path.with_suffix(".trials.csv"))
            shutil.copyfile(work / HISTORY_CSV, path.with_suffix(".history.csv"))
        else:
            spawn_child(contender, task, args.data_dir, work, log, path)
    except RunFailed as e:
        print(f"  failed: {e}", flush=True)
        return False
    drop_work(args, work)
    print(f"  {summary_line(read_json(path))}", flush=True)
    return True


if __name__ == "__main__":
    sys.exit(main())
