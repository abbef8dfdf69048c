"""The chief and its workers run every trial once; dead workers and failures end it cleanly."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf

from tuning.cli.main import main
from tuning.config import TuneConfig
from tuning.distributed import cluster
from tuning.distributed.chief import MAX_LOST_WORKERS, ChiefOracle
from tuning.engine import auth, devices
from tuning.engine.search import make_tuner
from tuning.store.files import read_json
from tuning.store.lock import LOCK_FILE
from tuning.store.resume import saved_config

from helpers import JAX, SMALL, assert_consistent, read_csv, trial_processes, tune_args

pytestmark = pytest.mark.processes  # tests about processes, starting their own

TINY = ["--train-limit", "500", "--max-epochs", "1"]
# The searches whose chief is a process of its own run under JAX: what they check is
# processes and their messages, whatever trains in them, and a JAX process starts in 4 s of
# CPU instead of TensorFlow's 6 (docs/development.md). The first test's chief and workers
# train with TensorFlow, the backend most users have. (The environment: helpers.JAX.)


def trials_run_by(results: Path) -> dict[str, list[str]]:
    """Which trials each worker ran, from the `<tuner id> runs trial <id>` lines of its log."""
    runs = {}
    for log in sorted((results / cluster.WORKER_LOGS).glob("*.log")):
        runs[log.stem] = re.findall(r"^\S+ runs trial (\d+)$", log.read_text(), re.MULTILINE)
    return runs


def worker_processes(results: Path) -> list[str]:
    """Pids of `worker` processes working in `results`."""
    found = subprocess.run(["pgrep", "-f", f"worker {results} "], capture_output=True, text=True)
    return found.stdout.split()


def wait_for(condition, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert condition()


def test_a_chief_and_two_workers_run_every_trial_exactly_once(tmp_path, data_dir):
    # Each worker runs its trials in processes of their own, as by default. Two trials per
    # device on a CPU: two workers, as `--workers 2` starts (test_local_workers_count_...).
    # Three trials, each a TensorFlow start-up: a worker goes back to the chief for another
    # trial while the other may still train.
    extra = ["--max-trials", "3", "--trials-per-device", "2"]
    args = tune_args(tmp_path, data_dir, *TINY, *extra, processes=True)
    assert main(args) == 0
    assert_consistent(tmp_path, 3)  # 3 COMPLETED trials, CSVs and test results as saved
    runs = trials_run_by(tmp_path)
    assert set(runs) == {"worker0", "worker1"}
    assert all(runs.values())  # both workers trained, the chief none
    assert sorted(sum(runs.values(), [])) == ["0", "1", "2"]  # each trial once
    history = read_csv(tmp_path / "history.csv")
    assert sorted(history.trial_id) == ["0", "1", "2"]  # one epoch each, none twice
    oracle = json.loads((tmp_path / "tuner" / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0", "1", "2"]
    run = json.loads((tmp_path / "run.json").read_text())
    assert (run["status"], run["config"]["trials_per_device"]) == ("finished", 2)
    assert (tmp_path / LOCK_FILE).read_text() == ""  # the chief released the lock
    assert not worker_processes(tmp_path)


def test_local_workers_count_per_device_and_per_worker():
    assert cluster.local_workers(TuneConfig("mnist", workers=2), per=1) == 2
    assert cluster.local_workers(TuneConfig("mnist", workers=3), per=2) == 6  # 2 on each
    assert cluster.local_workers(TuneConfig("mnist"), per=1) == 0  # no chief's own workers
    gpus = len(devices.gpu_ids())
    assert cluster.local_workers(TuneConfig("mnist"), per=2) == 2 * max(gpus, 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_workers_started_by_hand_run_the_chiefs_command_with_keras_tuner_variables(
    tmp_path, data_dir
):
    # As on other machines: the chief and each worker are `tune` with KerasTuner's variables.
    address = {cluster.ORACLE_IP: "127.0.0.1", cluster.ORACLE_PORT: str(free_port())}
    command = [sys.executable, "-m", "tuning", *tune_args(tmp_path, data_dir, *TINY)]
    command += ["--max-trials", "2"]
    secret = "s3cret-shared-by-the-chief-and-workers"

    def start(tuner_id: str, *extra: str, output=subprocess.PIPE, token=secret) -> subprocess.Popen:
        env = {**JAX, **address, cluster.TUNER_ID: tuner_id, auth.TOKEN_ENV: token}
        return subprocess.Popen(
            [*command, *extra], env=env, stdout=output, stderr=output, text=True
        )

    # Without a token the chief refuses to serve, in one line, before writing anything.
    tokenless = start("chief", token="")
    _, err = tokenless.communicate(timeout=300)
    assert tokenless.returncode == 2 and not (tmp_path / "run.json").exists()
    assert err.splitlines() == [
        "error: a chief whose workers are started by hand needs a secret they share: set "
        "TUNING_CHIEF_TOKEN to 16 characters or more for the chief and every worker, e.g. "
        "TUNING_CHIEF_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    ]
    chief = start("chief", output=subprocess.DEVNULL)
    # One who reaches the port without the token learns nothing and reports nothing.
    intruder = start("hostd-0", token="a-guess-of-the-token-0000")
    _, err = intruder.communicate(timeout=300)
    assert intruder.returncode == 2
    port = address[cluster.ORACLE_PORT]
    assert err.splitlines()[-1] == (
        f"error: the chief at 127.0.0.1:{port} refused this worker: start it with the "
        "chief's TUNING_CHIEF_TOKEN"
    )
    worker, stranger = start("hostb-0"), start("hostc-0", "--max-epochs", "2")
    _, err = stranger.communicate(timeout=300)
    assert stranger.returncode == 2
    assert err.splitlines()[-1].startswith("error: this worker's settings differ from the ")
    assert err.splitlines()[-1].endswith("(max_epochs); start it with the chief's options")
    out, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0
    assert re.findall(r"^hostb-0 runs trial (\d+)$", out, re.MULTILINE) == ["0", "1"]
    assert chief.wait(timeout=300) == 0
    assert_consistent(tmp_path, 2)


def running_trials(results: Path) -> dict[str, str]:
    """The chief's saved view of which worker runs which trial."""
    state = read_json(results / "tuner" / "oracle.json") or {}
    return state.get("ongoing_trials", {})


def worker_pid(results: Path, tuner_id: str) -> int:
    """The pid of the local worker named `tuner_id`, read from its environment."""
    for pid in worker_processes(results):
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if f"{cluster.TUNER_ID}={tuner_id}".encode() in environ:
            return int(pid)
    raise AssertionError(f"no worker {tuner_id}")


def saved_epochs(results: Path, trial_id: str) -> int:
    """Epochs a running trial has saved of its state (tuning.engine.midtrial)."""
    state = read_json(results / "tuner" / f"trial_{trial_id}" / "resume" / "state.json") or {}
    return len(state.get("epoch", []))


def test_a_dead_worker_costs_only_the_epochs_since_its_trial_last_saved(tmp_path, data_dir):
    # Up to 15 epochs of 4 batches (EarlyStopping's patience is 10): after its second saved
    # epoch a trial trains for many more, long enough to be killed in. Only trials.csv is
    # read: one trial tested on the test set.
    args = tune_args(tmp_path, data_dir, *SMALL, "--max-trials", "2", "--max-epochs", "15")
    args += ["--workers", "2", "--save-every", "0", "--top-n", "1"]
    chief = subprocess.Popen(
        [sys.executable, "-m", "tuning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=JAX,
    )

    def saved() -> dict[str, str]:  # worker: trial, of the trials with 2 epochs saved
        return {w: t for w, t in running_trials(tmp_path).items() if saved_epochs(tmp_path, t) >= 2}

    wait_for(saved)
    tuner_id, trial_id = next(iter(saved().items()))
    os.kill(worker_pid(tmp_path, tuner_id), signal.SIGKILL)
    out, err = chief.communicate(timeout=300)
    assert chief.returncode == 0, err[-2000:]
    replaced = re.findall(r"^chief: (\S+) ended with signal SIGKILL .* takes its place", out, re.M)
    assert replaced == [tuner_id], out
    assert (
        f"chief: trial {trial_id} goes back to the queue (its worker {tuner_id} ended "
        "with signal SIGKILL); the next worker resumes it from its last saved epoch"
    ) in out
    trials = read_csv(tmp_path / "trials.csv")
    assert len(trials) == 2 and set(trials.status) == {"COMPLETED"}  # each ended once
    record = read_json(tmp_path / "tuner" / f"trial_{trial_id}" / "record.json")
    assert record["resumed_after_epoch"] >= 2  # not from epoch 1
    assert not worker_processes(tmp_path) and not trial_processes(tmp_path)


def test_consecutive_failures_make_the_chief_stop_the_search_with_reports(
    tmp_path, data_dir, capsys, monkeypatch
):
    hidden = []  # the chief trains nothing, so it keeps off the GPUs its workers need
    monkeypatch.setattr(devices, "hide_gpus", lambda: hidden.append(True))
    args = tune_args(tmp_path, data_dir, *SMALL, "--max-trials", "4", "--max-epochs", "1")
    args += ["--set", "learning_rate=1e30", "--max-failures", "2", "--workers", "1"]
    assert main(args) == 1
    assert hidden == [True]
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "stopped after 2 consecutive failed trials" in err[0]
    assert list(read_csv(tmp_path / "trials.csv").status) == ["FAILED", "FAILED"]
    assert trials_run_by(tmp_path) == {"worker0": ["0", "1"]}  # then told to stop
    assert "trial 2/4 (id 1) | val_accuracy FAILED | best - |" in captured.out  # the chief's
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "stopped"


def test_a_search_with_mirrored_strategy_completes(tmp_path, data_dir):
    args = tune_args(tmp_path, data_dir, *TINY, "--max-trials", "2")
    assert main([*args, "--distribution", "mirrored"]) == 0
    assert list(read_csv(tmp_path / "trials.csv").status) == ["COMPLETED", "COMPLETED"]
    config = saved_config(tmp_path, json.loads((tmp_path / "run.json").read_text()))
    assert config.distribution == "mirrored"  # what a trial's own process would read
    strategy = make_tuner(config).distribution_strategy
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 1  # this machine's CPU


def test_help_documents_the_distributed_options(capsys):
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    text = capsys.readouterr().out
    for option in ("--workers", "--distribution", "{mirrored}", "--tensorboard"):
        assert option in text


def test_a_spent_time_budget_makes_the_chief_hand_out_no_trial(search_copy, data_dir, capsys):
    spent = json.loads((search_copy / "run.json").read_text())["search_seconds"]
    args = tune_args(search_copy, data_dir, "--max-trials", "3", "--max-epochs", "2")
    assert main([*args, "--workers", "1", "--time-budget", f"{spent / 2}"]) == 0
    assert len(read_csv(search_copy / "trials.csv")) == 2
    assert trials_run_by(search_copy) == {"worker0": []}  # it asked, and was told to stop
    assert "was spent after 2 of 3 trials" in capsys.readouterr().out


def test_a_remote_worker_that_never_comes_back_is_not_waited_for(tmp_path, data_dir):
    # As on other machines, with a lease of 2 s (a heartbeat every 0.2 s; the kill comes
    # a poll after the trial is handed out): a worker that dies (its machine lost, say)
    # stops calling; its trial goes back to the queue once the lease runs out, and fails
    # when no worker takes it within another lease: the chief, which would otherwise wait
    # for good, ends the search (a one-trial one here).
    address = {cluster.ORACLE_IP: "127.0.0.1", cluster.ORACLE_PORT: str(free_port())}
    # Up to 100 epochs of 2,000 images: the trial runs until EarlyStopping, seconds.
    args = tune_args(tmp_path, data_dir, "--max-trials", "1", "--max-epochs", "100")
    command = [sys.executable, "-m", "tuning", *args, "--worker-timeout", "2s"]

    def start(tuner_id: str) -> subprocess.Popen:
        env = {**JAX, **address, cluster.TUNER_ID: tuner_id, auth.TOKEN_ENV: "x" * 16}
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)

    chief, lost = start("chief"), start("hostb-0")
    wait_for(lambda: "hostb-0" in running_trials(tmp_path))
    lost.kill()
    lost.communicate(timeout=60)
    out, _ = chief.communicate(timeout=300)
    assert chief.returncode == 0
    trials = read_csv(tmp_path / "trials.csv")
    assert list(trials.status) == ["FAILED"]
    assert "goes back to the queue (its worker hostb-0 was not heard from for 2s)" in out
    assert trials.reason[0] == "no worker took it back within 2s"


def test_a_late_report_from_a_worker_that_lost_its_trial_is_dropped(tmp_path, capsys):
    config = TuneConfig("mnist", results_dir=tmp_path, max_trials=2).resolve()
    oracle = make_tuner(config, oracle_class=ChiefOracle).oracle
    records = {}
    trial = oracle.create_trial("hostb-0")
    assert oracle.requeue_worker_trial("hostb-0", "why", records.__setitem__) == trial.trial_id
    assert oracle.create_trial("hostc-0").trial_id == trial.trial_id  # resumed by the next

    reported = copy.deepcopy(trial)  # as a worker sends it over gRPC
    reported.status = "FAILED"  # a report with no metrics to score

    def report(worker: str) -> None:
        auth.as_caller(worker, lambda request, context: oracle.end_trial(reported))(None, None)

    report("hostb-0")
    assert "chief: dropped a late report of trial 0 from hostb-0: hostc-0 runs it now" in (
        capsys.readouterr().out
    )
    assert oracle.trials[trial.trial_id].status == "RUNNING"
    report("hostc-0")
    assert oracle.trials[trial.trial_id].status == "FAILED"
    report("hostb-0")  # once more, after the trial ended: dropped too
    assert "from hostb-0: it has ended" in capsys.readouterr().out
    assert records == {}  # requeued, not failed


def test_a_trial_that_lost_too_many_workers_fails(tmp_path):
    config = TuneConfig("mnist", results_dir=tmp_path, max_trials=2).resolve()
    oracle = make_tuner(config, oracle_class=ChiefOracle).oracle
    records = {}
    for attempt in range(MAX_LOST_WORKERS):
        trial = oracle.create_trial(f"w{attempt}")
        oracle.requeue_worker_trial(f"w{attempt}", "its worker died", records.__setitem__)
    assert oracle.trials[trial.trial_id].status == "FAILED"
    assert records[trial.trial_id]["reason"] == "its worker died, the 3rd worker lost in this trial"


def test_a_worker_that_trained_on_while_its_chief_restarted_gets_its_trial_back(tmp_path):
    config = TuneConfig("mnist", results_dir=tmp_path, max_trials=2).resolve()
    first = make_tuner(config, oracle_class=ChiefOracle)
    trial = first.oracle.create_trial("hostb-0")
    first.save()
    # The chief killed and started again: KerasTuner queues every trial it saved as running.
    oracle = make_tuner(config, oracle_class=ChiefOracle).oracle
    assert oracle.retry_queue == [trial.trial_id]
    reported = copy.deepcopy(trial)
    reported.status = "FAILED"  # a report with no metrics to score
    auth.as_caller("hostb-0", lambda request, context: oracle.end_trial(reported))(None, None)
    assert oracle.trials[trial.trial_id].status == "FAILED"  # taken, not dropped
    assert oracle.retry_queue == [] and oracle.ongoing_trials == {}


def test_a_workers_calls_wait_for_a_chief_that_is_restarting():
    sent = []
    call = auth.CallDetails("/m", None, None, None, None, None)
    auth.TokenSender("x" * 16).intercept_unary_unary(lambda d, r: sent.append(d), call, None)
    assert sent[0].wait_for_ready is True and sent[0].timeout == auth.RECONNECT_SECONDS
