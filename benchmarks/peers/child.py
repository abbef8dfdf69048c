"""A peer contender's run in its own process: search, test its best, write the result.

The parent starts it as `python -m benchmarks.peers --child SPEC` (`spawn_child`), so that
every contender's imports and compiles count alike.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.peers import RunFailed, Task
from benchmarks.peers.kerastuner import kerastuner_search
from benchmarks.peers.optuna_search import optuna_search
from benchmarks.peers.runs import result_of, run_logged, summary_line
from benchmarks.peers.setup import make_setup
from tuning.store.files import write_json_atomic

SEARCHES = {
    "bayesian": kerastuner_search,
    "hyperband": kerastuner_search,
    "random": kerastuner_search,
    "optuna": optuna_search,
}


def spawn_child(
    contender: str, task: Task, data_dir: Path, work: Path, log: Path, path: Path
) -> None:
    """Run a peer contender in a fresh process of this package, which writes `path`.

    Raises:
        RunFailed: the process failed or wrote no result.
    """
    spec = {
        "contender": contender,
        "task": asdict(task),
        "data_dir": str(data_dir),
        "work": str(work),
        "result": str(path),
        "launched": time.time(),  # the run's clock starts with its process
    }
    # Run in the repository (run_logged's cwd), where `-m` finds this package.
    command = [sys.executable, "-m", "benchmarks.peers", "--child", json.dumps(spec)]
    with log.open("w") as stream:
        status = run_logged(command, stream)
    if status or not path.exists():
        raise RunFailed(f"exit status {status}; see {log}")


def run_child(spec: dict) -> None:
    """A peer contender's run, in its own process: search, test its best, write the result."""
    import tuning

    tuning.import_backend_quietly()  # tuning's environment first, as `tune` sets it
    setup = make_setup(spec)
    test_accuracy = SEARCHES[spec["contender"]](spec["contender"], setup)
    from tuning.hardware import resolved

    result = result_of(
        spec["contender"],
        setup.task,
        setup.clock.timeline,
        setup.clock.trials,
        test_accuracy,
        time.time() - setup.clock.launched,
        resolved(setup.hypermodel.path),
    )
    write_json_atomic(Path(spec["result"]), result)
    print(summary_line(result), flush=True)
