"""A worker of a distributed search: it trains the trials the chief hands out until told stop.

A worker needs KerasTuner's environment variables (see tuning.distributed.cluster) and the results
dir, shared with the chief (an NFS mount, say). It takes every setting from the chief's
run.json, and by default runs each trial in a fresh `run-trial` process, as `tune` does: each
is a KerasTuner worker with this worker's tuner id, runs one trial and exits. It writes no
report and takes no lock; the chief does both.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import grpc

from tuning.config import TuneConfig, differing_keys, saved_rules
from tuning.data import split
from tuning.distributed import cluster
from tuning.engine import auth, kt_internals
from tuning.engine.failures import trial_ended
from tuning.engine.isolation import die_with_parent, killed_reason, run_trials_in_children
from tuning.engine.search import make_tuner, run_search
from tuning.errors import TuningError
from tuning.experiment import saved
from tuning.layout import ORACLE_FILE, TUNER_DIR
from tuning.store import runinfo
from tuning.store.files import read_json
from tuning.store.prepared import search_data
from tuning.store.resume import saved_config
from tuning.trialstate import TrialState

CHIEF_WAIT_SECONDS = 600  # for the chief to answer, so workers can be started first
HEARTBEATS_PER_LEASE = 10  # a worker calls the chief this often within its lease


def work(results_dir: Path, parent: int | None = None, verbose: int = 2) -> str:
    """Run trials of the search the chief serves until it says the search is over.

    Args:
        results_dir: the search's results dir, as this machine mounts it.
        parent: the pid of the chief that started this worker; the kernel kills the worker
            when that process dies.
        verbose: Keras's verbosity while training.

    Returns:
        A closing line.

    Raises:
        TuningError: this process is not a worker, or no chief answered.
    """
    if parent is not None:
        die_with_parent(parent)
    config = chief_config(results_dir)
    return run_worker(config, verbose)


def work_for_tune(config: TuneConfig, verbose: int = 2) -> str:
    """`tune` started with a worker's tuner id: a worker, if its settings are the chief's.

    Raises:
        TuningError: a setting that decides the trials differs from the chief's search, or
            a chief-only option was given.
    """
    if config.overwrite or config.workers is not None or config.trials_per_device:
        raise TuningError(
            f"{cluster.TUNER_ID}={os.environ[cluster.TUNER_ID]} makes this process a "
            "worker: --overwrite, --workers and --trials-per-device are for the chief"
        )
    chief = chief_config(config.resolve().results_dir)
    check_same_search(chief, config)
    return run_worker(dataclasses.replace(chief, in_process=config.in_process), verbose)


def check_same_search(chief: TuneConfig, config: TuneConfig) -> None:
    """Refuse a worker whose settings would train other trials than the chief's search.

    Raises:
        TuningError: naming the settings that differ.
    """
    if config.initial_points is None:  # as a resume does: the saved number stands
        config = dataclasses.replace(config, initial_points=chief.initial_points)
    config = dataclasses.replace(config, **saved_rules(chief.to_json()))
    mine = runinfo.normalized(config.resolve().to_json())
    keys = differing_keys(runinfo.normalized(chief.to_json()), mine)
    if keys:
        raise TuningError(
            f"this worker's settings differ from the chief's search in {chief.results_dir} "
            f"({', '.join(keys)}); start it with the chief's options"
        )


def chief_config(results_dir: Path) -> TuneConfig:
    """The settings of the search the chief serves, read once the chief answers.

    Raises:
        TuningError: this process is not a worker, or no chief answered.
    """
    if cluster.role() != "worker":
        raise TuningError(
            f"a worker needs {cluster.TUNER_ID} (a name without 'chief'), "
            f"{cluster.ORACLE_IP} and {cluster.ORACLE_PORT}: where the chief serves"
        )
    address = kt_internals.chief_address()
    wait_for_chief(address)
    auth.check_token(address)
    # The chief writes run.json before it serves, so it is there once the chief answers.
    return saved_config(results_dir, read_json(results_dir / runinfo.RUN_FILE))


def wait_for_chief(address: str, seconds: float = CHIEF_WAIT_SECONDS) -> None:
    """Wait until the chief at `address` accepts connections.

    Raises:
        TuningError: it did not within `seconds`.
    """
    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=seconds)
    except grpc.FutureTimeoutError:
        raise TuningError(
            f"no chief answered at {address} within {seconds:.0f} s; start the chief first"
        ) from None
    finally:
        channel.close()


def run_worker(config: TuneConfig, verbose: int) -> str:
    """Train trials, each in a fresh process unless `config.in_process`, until told to stop."""
    tuner_id = os.environ[cluster.TUNER_ID]
    print(f"{tuner_id}: working on the search in {config.results_dir}", flush=True)
    address = kt_internals.chief_address()
    auth.keep_in_touch(address, config.worker_timeout / HEARTBEATS_PER_LEASE)
    if config.in_process:
        run = read_json(config.results_dir / runinfo.RUN_FILE)
        dataset = search_data(config, saved(run))
        data = split(dataset, config.train_limit)
        run_search(make_tuner(config), config, data, verbose=0 if config.quiet else verbose)
    else:
        run_trials_in_children(config, on_killed=fail_killed_trial, from_chief=True)
    return f"{tuner_id}: the chief says the search is over; it writes the reports"


def fail_killed_trial(config: TuneConfig, signal_name: str) -> None:
    """Report the trial whose process was killed as FAILED to the chief, as `tune` does.

    The chief's oracle.json says which trial this tuner id runs; it is saved when a trial is
    handed out, but not when one ends, so a trial that already ended is left alone.
    """
    tuner = make_tuner(config)  # a worker's tuner: its oracle is the chief's, over gRPC
    state = read_json(config.results_dir / TUNER_DIR / ORACLE_FILE) or {}
    trial_id = state.get("ongoing_trials", {}).get(tuner.tuner_id)
    if trial_id is None:
        return
    trial = tuner.oracle.get_trial(trial_id)
    if trial.status != TrialState.RUNNING:
        return
    reason = killed_reason(signal_name)
    tuner.save_record(trial_id, {"reason": reason})
    trial.status, trial.message = TrialState.FAILED, reason
    tuner.oracle.end_trial(trial)
    trial_ended(tuner, trial, after_trial=None, max_failures=None)  # the chief counts it
