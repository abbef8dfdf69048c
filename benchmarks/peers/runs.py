"""A run's files: its task, where its result and tuner files go, its result and summary."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import IO

from benchmarks.peers import REPO, Task
from tuning.settings import show_duration


def task_of(args: argparse.Namespace, dataset: str, seed: int) -> Task:
    """The task of one run, from the command line."""
    return Task(
        dataset,
        seed,
        args.budget,
        args.max_epochs,
        args.train_limit,
        args.val_size,
        args.hypermodel,
    )


def run_name(contender: str, task: Task) -> str:
    """A run's file stem: `<contender>-seed<seed>`."""
    return f"{contender}-seed{task.seed}"


def result_path(out: Path, contender: str, task: Task) -> Path:
    """Where a run's result is written once it is done."""
    return out / "runs" / task.dataset / f"{run_name(contender, task)}.json"


def run_logged(command: list[str], stream: IO[str]) -> int:
    """Run `command` in the repository with its output into `stream`; its exit status."""
    return subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, cwd=REPO).returncode


def drop_work(args: argparse.Namespace, work: Path) -> None:
    """Delete a finished run's tuner files (checkpoints of every trial) unless --keep-work."""
    if args.keep_work:
        return
    shutil.rmtree(work, ignore_errors=True)
    for folder in (work.parent, work.parent.parent):  # <out>/work/<dataset>, <out>/work
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def result_of(
    contender: str,
    task: Task,
    timeline: list,
    trials: int,
    test_accuracy: float | None,
    seconds: float,
    training: dict,
) -> dict:
    """A run's result as its JSON file holds it."""
    scores = [score for _, score in timeline]
    return {
        "contender": contender,
        "task": asdict(task),
        "timeline": timeline,  # [seconds since the run's process started, val_accuracy]
        "trials": trials,
        "best_val_accuracy": max(scores) if scores else None,
        "test_accuracy": test_accuracy,
        "seconds": round(seconds, 1),
        "training": training,
    }


def fmt(value: float | None, digits: int = 4) -> str:
    """A score for a table, `-` where there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def summary_line(result: dict) -> str:
    """One line about a finished run."""
    test = result["test_accuracy"]
    return (
        f"{result['trials']} trial{'' if result['trials'] == 1 else 's'}, "
        f"best val_accuracy {fmt(result['best_val_accuracy'])}, "
        f"test_accuracy {fmt(test)}, {show_duration(result['seconds'])} in all"
    )
