"""The reference: the course's configuration, trained once per dataset and cached."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.peers import SEED, Task
from benchmarks.peers.runs import drop_work, fmt, run_logged, task_of
from benchmarks.peers.tool import read_rows
from tuning.layout import TEST_RESULTS_CSV, TRIALS_CSV
from tuning.store.files import read_json, write_json_atomic
from tuning.store.runinfo import RUN_FILE


def reference_file(out: Path, dataset: str) -> Path:
    """Where a dataset's reference is cached."""
    return out / "reference" / f"{dataset}.json"


def reference_key(task: Task) -> dict:
    """What a cached reference must have been measured on: the task, the budget apart."""
    return task.settings()


def reference(args: argparse.Namespace, dataset: str) -> bool:
    """Measure the course's configuration's val_accuracy, unless cached; False if that failed.

    `tune`'s warm start trains exactly that configuration as its first trial: one trial, no
    early stopping of trials, the base seed.
    """
    task = task_of(args, dataset, SEED)
    path = reference_file(args.out, dataset)
    saved = read_json(path)
    if saved is not None and saved["task"] == reference_key(task):
        return True
    work = args.out / "work" / dataset / "reference"
    log = args.out / "logs" / dataset / "reference.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"run {dataset} reference: the course's configuration, one trial", flush=True)
    command = [sys.executable, "-m", "tuning", "tune", *task.tune_args(args.data_dir)]
    command += ["--results-dir", str(work), "--warm-start", "--max-trials", "1"]
    command += ["--early-trial-stop", "off"]
    with log.open("w") as stream:
        status = run_logged(command, stream)
    trials, tests = read_rows(work / TRIALS_CSV), read_rows(work / TEST_RESULTS_CSV)
    if status or not trials or not tests:
        print(f"  failed: exit status {status}; see {log}", flush=True)
        return False
    saved = reference_result(task, trials[0], tests[0], read_json(work / RUN_FILE) or {})
    write_json_atomic(path, saved)
    drop_work(args, work)
    print(f"  val_accuracy {fmt(saved['val_accuracy'])} in {saved['epochs']} epochs", flush=True)
    return True


def reference_result(task: Task, trial: dict, test: dict, run: dict) -> dict:
    """The reference's cache: its scores, and the machine and precision it trained on."""
    return {
        "task": reference_key(task),
        "val_accuracy": float(trial["val_accuracy"]),
        "test_accuracy": float(test["test_accuracy"]),
        "epochs": int(trial["epochs"]),
        "machine": run.get("machine", {}),
        "training": run.get("training", {}),
    }
